/**
 * The operator console (instance operators only; the server answers 404 to
 * everyone else, and then this area is not shown): instance health, every
 * organization with its balance, usage and members, credits granted or
 * deducted with a note, organizations disabled and enabled. Also the banner a
 * disabled organization's members see, saying when and why.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Container,
  Group,
  Modal,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { ApiError, api, formErrors, orgUrl, qs } from "../api";
import { dateTime } from "../format";
import { PageLoader, QueryError } from "../session";
import { FormFooter } from "../form-footer";

interface Disabled {
  at: string;
  by: string;
  reason: string;
}

interface AdminOrg {
  id: string;
  slug: string;
  name: string;
  personal: boolean;
  members: number;
  balanceUsd: string;
  monthUsageUsd: string;
  disabled: Disabled | null;
}

interface Health {
  status: string;
  version: string;
  uptimeSeconds: number;
  database: { kind: string; reachable: boolean };
  redis: string;
}

const healthKey = ["admin", "health"];

/** True for instance operators (the admin routes answer them), false for everyone else. */
export function useIsOperator(): boolean {
  const health = useQuery({
    queryKey: healthKey,
    queryFn: () => api.get<Health>("/api/v1/admin/health"),
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
    staleTime: 60_000,
  });
  return health.isSuccess;
}

/** Shown above an organization's pages while the instance operator has disabled it. */
export function DisabledOrgBanner({ slug }: { slug: string }) {
  const status = useQuery({
    queryKey: ["org", slug, "status"],
    queryFn: () => api.get<{ disabled: Disabled | null }>(orgUrl(slug, "/status")),
  });
  const d = status.data?.disabled;
  if (!d) return null;
  return (
    <Alert color="red" title="This organization is disabled" mb="md" role="alert">
      Its API keys are refused (error code <code>organization_disabled</code>) since {dateTime(d.at)}. Reason given by
      the instance operator ({d.by}): {d.reason}
    </Alert>
  );
}

export function AdminPage() {
  const health = useQuery({ queryKey: healthKey, queryFn: () => api.get<Health>("/api/v1/admin/health") });
  const [search, setSearch] = useState("");
  const [q] = useDebouncedValue(search.trim(), 300);
  const orgs = useQuery({
    queryKey: ["admin", "orgs", q],
    queryFn: () => api.get<{ organizations: AdminOrg[] }>(`/api/v1/admin/orgs${qs({ q })}`),
    placeholderData: keepPreviousData,
    enabled: health.isSuccess,
  });
  const [crediting, setCrediting] = useState<AdminOrg | null>(null);
  const [disabling, setDisabling] = useState<AdminOrg | null>(null);
  if (health.isPending) return <PageLoader />;
  if (health.error) return <QueryError error={health.error} retry={() => health.refetch()} />;
  const h = health.data;
  return (
    <Container size="lg" py="md">
      <Stack>
        <Group justify="space-between">
          <Title order={2}>Admin</Title>
          <Anchor component={Link} to="/">
            Back to my organizations
          </Anchor>
        </Group>
        <Group gap="md" aria-label="Instance health">
          <Badge color={h.status === "ready" ? "green" : "red"}>{h.status}</Badge>
          <Text size="sm">Version {h.version}</Text>
          <Text size="sm">Up {Math.floor(h.uptimeSeconds / 60)} min</Text>
          <Text size="sm">
            Database {h.database.kind} ({h.database.reachable ? "reachable" : "unreachable"})
          </Text>
          <Text size="sm">Redis {h.redis}</Text>
        </Group>
        <TextInput
          label="Search"
          placeholder="slug or name"
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          w={260}
        />
        {orgs.isPending ? (
          <PageLoader />
        ) : orgs.error ? (
          <QueryError error={orgs.error} retry={() => orgs.refetch()} />
        ) : (
          <OrgTable orgs={orgs.data.organizations} onCredits={setCrediting} onDisable={setDisabling} />
        )}
      </Stack>
      <CreditsModal org={crediting} onClose={() => setCrediting(null)} />
      <DisableModal org={disabling} onClose={() => setDisabling(null)} />
    </Container>
  );
}

function OrgTable(props: { orgs: AdminOrg[]; onCredits: (o: AdminOrg) => void; onDisable: (o: AdminOrg) => void }) {
  const qc = useQueryClient();
  const enable = useMutation({
    mutationFn: (slug: string) => api.post(`/api/v1/admin/orgs/${encodeURIComponent(slug)}/enable`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["admin", "orgs"] }),
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  if (props.orgs.length === 0) return <Text c="dimmed">No organizations.</Text>;
  return (
    <Table.ScrollContainer minWidth={800}>
      <Table striped aria-label="Organizations">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Organization</Table.Th>
            <Table.Th>Members</Table.Th>
            <Table.Th>Balance</Table.Th>
            <Table.Th>Usage this month</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {props.orgs.map((o) => (
            <Table.Tr key={o.id} data-testid={`admin-org-${o.slug}`}>
              <Table.Td>
                <Text size="sm" fw={600}>
                  {o.name}
                </Text>
                <Text size="xs" c="dimmed">
                  {o.slug}
                  {o.personal ? " · personal" : ""}
                </Text>
              </Table.Td>
              <Table.Td>{o.members}</Table.Td>
              <Table.Td data-testid="balance">${o.balanceUsd}</Table.Td>
              <Table.Td>${o.monthUsageUsd}</Table.Td>
              <Table.Td>
                {o.disabled ? (
                  <Badge color="red" title={o.disabled.reason}>
                    disabled
                  </Badge>
                ) : (
                  <Badge color="green">active</Badge>
                )}
              </Table.Td>
              <Table.Td>
                <Group gap="xs" justify="flex-end" wrap="nowrap">
                  <Button size="xs" variant="light" onClick={() => props.onCredits(o)}>
                    Credits
                  </Button>
                  {o.disabled ? (
                    <Button size="xs" variant="default" onClick={() => enable.mutate(o.slug)}>
                      Enable
                    </Button>
                  ) : (
                    <Button size="xs" color="red" variant="light" onClick={() => props.onDisable(o)}>
                      Disable
                    </Button>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function CreditsModal({ org, onClose }: { org: AdminOrg | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: { direction: "grant", amountUsd: "", note: "" } });
  const save = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<{ balanceUsd: string }>(`/api/v1/admin/orgs/${encodeURIComponent(org!.slug)}/credits`, v),
    onSuccess: async (res) => {
      notifications.show({ color: "green", message: `Done. New balance: $${res.balanceUsd}` });
      form.reset();
      setGeneral(null);
      onClose();
      await qc.invalidateQueries({ queryKey: ["admin", "orgs"] });
    },
    onError: (err) => {
      const e = formErrors(err, ["direction", "amountUsd", "note"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Modal opened={!!org} onClose={onClose} title={`Credits for ${org?.name ?? ""}`}>
      <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate>
        <Stack>
          <SegmentedControl
            data={[
              { value: "grant", label: "Grant" },
              { value: "deduct", label: "Deduct" },
            ]}
            {...form.getInputProps("direction")}
          />
          <TextInput
            label="Amount (USD)"
            placeholder="25.00"
            required
            data-autofocus
            {...form.getInputProps("amountUsd")}
          />
          <TextInput
            label="Note"
            description="Shown in the organization's transaction history and audit log."
            required
            {...form.getInputProps("note")}
          />
          <FormFooter error={general} onCancel={onClose} submitLabel="Save" loading={save.isPending} />
        </Stack>
      </form>
    </Modal>
  );
}

function DisableModal({ org, onClose }: { org: AdminOrg | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({ initialValues: { reason: "" } });
  const disable = useMutation({
    mutationFn: (v: typeof form.values) => api.post(`/api/v1/admin/orgs/${encodeURIComponent(org!.slug)}/disable`, v),
    onSuccess: async () => {
      form.reset();
      setGeneral(null);
      onClose();
      await qc.invalidateQueries({ queryKey: ["admin", "orgs"] });
    },
    onError: (err) => {
      const e = formErrors(err, ["reason"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Modal opened={!!org} onClose={onClose} title={`Disable ${org?.name ?? ""}`}>
      <form onSubmit={form.onSubmit((v) => disable.mutate(v))} noValidate>
        <Stack>
          <Text size="sm">
            Its API keys are refused at once. Members can still sign in and read, and see the reason you give.
          </Text>
          <TextInput label="Reason" required data-autofocus {...form.getInputProps("reason")} />
          {general && (
            <Text c="red" size="sm" role="alert">
              {general}
            </Text>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={disable.isPending}>
              Disable
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
