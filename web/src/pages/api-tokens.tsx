/**
 * Organization API tokens (org settings, owners and admins): mint a token with
 * a role (admin tokens: the owner only), optional projects and expiry; the new
 * token is shown exactly once with a copy button (the server keeps only its
 * hash); the list shows hints, status and last use; revoking is immediate.
 */
import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  MultiSelect,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, formErrors, orgUrl } from "../api";
import { useRemoval } from "../removal";
import type { Project } from "../api-types";
import { dateTime } from "../format";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";
import { FormFooter } from "../form-footer";

interface ApiToken {
  id: string;
  name: string;
  role: "admin" | "member";
  projects: string[] | null;
  hint: string;
  status: "active" | "expired" | "revoked";
  createdBy: { userId: string | null; email: string | null };
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
}
type CreatedToken = ApiToken & { token: string };

export function ApiTokensPage() {
  const org = useCurrentOrg()!;
  const [createOpen, create] = useDisclosure(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const queryKey = ["org", org.slug, "api-tokens"];
  const tokens = useQuery({
    queryKey,
    queryFn: () => api.get<{ tokens: ApiToken[] }>(orgUrl(org.slug, "/api-tokens")),
  });
  const revoke = useRemoval({
    url: (id) => orgUrl(org.slug, `/api-tokens/${id}`),
    done: "Token revoked. It stopped working at once.",
    queryKey,
    onDone: () => setRevoking(null),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>API tokens</Title>
        <Button onClick={create.open}>Create token</Button>
      </Group>
      <Text size="sm" c="dimmed">
        Tokens call this organization's management API (<Code>Authorization: Bearer tg_org_…</Code>) with the
        permissions of their role. They never manage billing, delete or transfer the organization, or change members.
      </Text>
      {created && <NewToken created={created} onDone={() => setCreated(null)} />}
      {tokens.isPending ? (
        <PageLoader />
      ) : tokens.error ? (
        <QueryError error={tokens.error} retry={() => tokens.refetch()} />
      ) : tokens.data.tokens.length === 0 ? (
        <Text data-testid="tokens-empty">
          No tokens yet. <b>Create token</b> gives a script or CI job its own access to this organization's API.
        </Text>
      ) : (
        <TokenTable tokens={tokens.data.tokens} onRevoke={setRevoking} />
      )}
      <CreateTokenModal
        org={org.slug}
        opened={createOpen}
        onClose={create.close}
        onCreated={(t) => {
          setCreated(t);
          create.close();
        }}
      />
      <Modal opened={!!revoking} onClose={() => setRevoking(null)} title="Revoke token">
        <Stack>
          <Text>Revoke “{revoking?.name}”? Calls with it are refused from now on; this cannot be undone.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRevoking(null)}>
              Cancel
            </Button>
            <Button color="red" loading={revoke.isPending} onClick={() => revoking && revoke.mutate(revoking.id)}>
              Revoke
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function TokenTable({ tokens, onRevoke }: { tokens: ApiToken[]; onRevoke: (t: ApiToken) => void }) {
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table striped aria-label="API tokens">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Token</Table.Th>
            <Table.Th>Projects</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Created by</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tokens.map((t) => (
            <Table.Tr key={t.id} data-testid={`token-${t.name}`}>
              <Table.Td>
                {t.name}{" "}
                <Badge size="xs" variant="outline" color={t.role === "admin" ? "indigo" : "gray"}>
                  {t.role}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Code>{t.hint}</Code>
              </Table.Td>
              <Table.Td>{t.projects ? t.projects.join(", ") : "all"}</Table.Td>
              <Table.Td>
                <Badge
                  color={t.status === "active" ? "green" : t.status === "expired" ? "yellow" : "red"}
                  variant="light"
                >
                  {t.status}
                </Badge>
              </Table.Td>
              <Table.Td>{t.createdBy.email ?? "—"}</Table.Td>
              <Table.Td>{t.lastUsedAt ? dateTime(t.lastUsedAt) : "never"}</Table.Td>
              <Table.Td>
                {t.status === "active" && (
                  <Button size="xs" variant="subtle" color="red" onClick={() => onRevoke(t)}>
                    Revoke
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function NewToken({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  return (
    <Alert color="green" title={`Token “${created.name}” created — copy it now`} data-testid="new-token">
      <Stack gap="sm">
        <Text size="sm">This is the only time the full token is shown. Tollgate stores only its hash.</Text>
        <Group wrap="nowrap" align="center">
          <Code block style={{ flex: 1, wordBreak: "break-all" }} data-testid="new-token-value">
            {created.token}
          </Code>
          <CopyButton value={created.token}>
            {({ copied, copy }) => (
              <Button size="xs" color={copied ? "teal" : "indigo"} onClick={copy}>
                {copied ? "Copied" : "Copy"}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Button size="xs" variant="light" w="fit-content" onClick={onDone}>
          I have stored the token
        </Button>
      </Stack>
    </Alert>
  );
}

function CreateTokenModal(props: {
  org: string;
  opened: boolean;
  onClose: () => void;
  onCreated: (t: CreatedToken) => void;
}) {
  const qc = useQueryClient();
  const canMintAdmin = useCan(["apiToken", "createAdmin"]);
  const [general, setGeneral] = useState<string | null>(null);
  const projects = useQuery({
    queryKey: ["org", props.org, "projects"],
    queryFn: () => api.get<{ projects: Project[] }>(orgUrl(props.org, "/projects")),
    enabled: props.opened,
  });
  const form = useForm({
    initialValues: { name: "", role: "member", projects: [] as string[], expiresAt: "" },
    validate: { name: (v) => (v.trim() ? null : "Name is required.") },
  });
  const create = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<CreatedToken>(orgUrl(props.org, "/api-tokens"), {
        name: v.name.trim(),
        role: v.role,
        projects: v.projects.length > 0 ? v.projects : undefined,
        expiresAt: v.expiresAt ? new Date(`${v.expiresAt}T23:59:59`).toISOString() : undefined,
      }),
    onSuccess: async (t) => {
      form.reset();
      setGeneral(null);
      props.onCreated(t);
      await qc.invalidateQueries({ queryKey: ["org", props.org, "api-tokens"] });
    },
    onError: (err) => {
      const e = formErrors(err, ["name", "role", "projects", "expiresAt"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  const roles = [
    { value: "member", label: "member — reads, project keys and logs" },
    { value: "admin", label: "admin — manages projects, providers, policies, invitations", disabled: !canMintAdmin },
  ];
  return (
    <Modal opened={props.opened} onClose={props.onClose} title="Create API token">
      <form onSubmit={form.onSubmit((v) => create.mutate(v))} noValidate>
        <Stack>
          <TextInput label="Name" placeholder="ci-deploy" required data-autofocus {...form.getInputProps("name")} />
          <Select
            label="Role"
            description={canMintAdmin ? undefined : "Only the owner creates admin tokens."}
            data={roles}
            allowDeselect={false}
            {...form.getInputProps("role")}
          />
          <MultiSelect
            label="Projects"
            description="Optional. Project routes answer only for these; none = every project."
            data={(projects.data?.projects ?? []).map((p) => ({ value: p.slug, label: p.name }))}
            searchable
            {...form.getInputProps("projects")}
          />
          <TextInput
            label="Expires on"
            type="date"
            description="Optional. The token stops working at the end of that day."
            {...form.getInputProps("expiresAt")}
          />
          <FormFooter error={general} onCancel={props.onClose} submitLabel="Create token" loading={create.isPending} />
        </Stack>
      </form>
    </Modal>
  );
}
