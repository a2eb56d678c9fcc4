/**
 * Security (owners, admins): the organization's shared policy — PII detection,
 * prompt-injection detection, keyword/regex content rules — which every project
 * inherits (a project may only tighten it), and the incidents the gateway
 * recorded, with review.
 */
import {
  ActionIcon,
  Badge,
  Button,
  Code,
  Group,
  Modal,
  NumberInput,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import {
  api,
  ApiError,
  formErrors,
  type Incident,
  type OrgPolicy,
  orgUrl,
  PII_TYPES,
  type PolicyRule,
  qs,
} from "../api";
import { dateTime } from "../format";
import { PageLoader, QueryError, useCurrentOrg } from "../session";
import { Pager, useCursorPages } from "../paging";

export const PII_LABELS: Record<string, string> = {
  email: "Email addresses",
  phone: "Phone numbers",
  card: "Payment card numbers",
  ssn: "US social security numbers",
  iban: "IBANs",
  ip: "IP addresses",
  secret: "Secrets (API keys, tokens)",
};
export const PII_ACTIONS = ["off", "log", "mask", "redact", "block"];
const RULE_ACTIONS = ["log", "mask", "redact", "block"];

export function SecurityPage() {
  return (
    <Stack>
      <Title order={2}>Security</Title>
      <Tabs defaultValue="policy">
        <Tabs.List>
          <Tabs.Tab value="policy">Shared policy</Tabs.Tab>
          <Tabs.Tab value="incidents">Incidents</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="policy" pt="md">
          <PolicyEditor />
        </Tabs.Panel>
        <Tabs.Panel value="incidents" pt="md">
          <Incidents />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

const emptyRule = (): PolicyRule => ({ name: "", type: "keyword", pattern: "", action: "block" });

function PolicyEditor() {
  const org = useCurrentOrg()!;
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const policy = useQuery({
    queryKey: ["org", org.slug, "security-policy"],
    queryFn: () => api.get<OrgPolicy>(orgUrl(org.slug, "/security-policy")),
  });
  const form = useForm<OrgPolicy>({
    initialValues: {
      pii: Object.fromEntries(PII_TYPES.map((t) => [t, "off"])) as OrgPolicy["pii"],
      promptInjection: { action: "off" },
      rules: [],
      restoreRedactions: false,
    },
  });
  useEffect(() => {
    if (policy.data) {
      form.setValues(policy.data);
      form.resetDirty(policy.data);
    }
  }, [policy.data, form.setValues, form.resetDirty]);
  const save = useMutation({
    mutationFn: (v: OrgPolicy) =>
      api.put<OrgPolicy>(orgUrl(org.slug, "/security-policy"), {
        ...v,
        promptInjection: {
          action: v.promptInjection.action,
          ...(typeof v.promptInjection.threshold === "number" ? { threshold: v.promptInjection.threshold } : {}),
        },
      }),
    onSuccess: async (p) => {
      setGeneral(null);
      qc.setQueryData(["org", org.slug, "security-policy"], p);
      notifications.show({ color: "green", message: "Security policy saved. The gateway applies it to new requests." });
    },
    onError: (err) => {
      const e = formErrors(err, ["pii", "promptInjection", "rules", "restoreRedactions"]);
      // INVALID_POLICY names the exact field (rules.0.pattern): the error goes on that input, and above the button.
      form.setErrors(err instanceof ApiError ? err.fieldErrors() : {});
      setGeneral(e.general ?? err.message);
    },
  });
  if (policy.isPending) return <PageLoader />;
  if (policy.error) return <QueryError error={policy.error} retry={() => policy.refetch()} />;

  return (
    <form onSubmit={form.onSubmit((v) => save.mutate(v))}>
      <Stack maw={900}>
        <Paper withBorder p="lg">
          <Title order={4}>Personal data (PII)</Title>
          <Text size="sm" c="dimmed" mb="sm">
            log: record an incident · mask / redact: replace it before the provider sees it · block: refuse the request.
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            {PII_TYPES.map((t) => (
              <Select
                key={t}
                label={PII_LABELS[t]}
                data={PII_ACTIONS}
                allowDeselect={false}
                {...form.getInputProps(`pii.${t}`)}
              />
            ))}
          </SimpleGrid>
          <Switch
            mt="md"
            label="Restore redacted values in the response (the provider never sees them)"
            {...form.getInputProps("restoreRedactions", { type: "checkbox" })}
          />
        </Paper>
        <Paper withBorder p="lg">
          <Title order={4}>Prompt injection</Title>
          <Group mt="sm" align="flex-start">
            <Select
              label="Action"
              data={["off", "log", "block"]}
              allowDeselect={false}
              w={160}
              {...form.getInputProps("promptInjection.action")}
            />
            <NumberInput
              label="Threshold"
              description="Score from 0 to 1; lower catches more"
              min={0}
              max={1}
              step={0.05}
              decimalScale={2}
              w={220}
              {...form.getInputProps("promptInjection.threshold")}
            />
          </Group>
        </Paper>
        <Paper withBorder p="lg">
          <Title order={4}>Content rules</Title>
          <Stack gap="xs" mt="sm">
            {form.values.rules.length === 0 && (
              <Text size="sm" c="dimmed">
                No rules. Add keywords or regular expressions (RE2 syntax) to log, mask, redact or block.
              </Text>
            )}
            {form.values.rules.map((_r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity; each input is controlled by form.values at its index, so after a removal every row shows its own values
              <Group key={i} align="flex-start" gap="xs" wrap="wrap">
                <TextInput
                  aria-label="Rule name"
                  placeholder="name"
                  w={160}
                  {...form.getInputProps(`rules.${i}.name`)}
                />
                <Select
                  aria-label="Rule type"
                  data={["keyword", "regex"]}
                  allowDeselect={false}
                  w={110}
                  {...form.getInputProps(`rules.${i}.type`)}
                />
                <TextInput
                  aria-label="Pattern"
                  placeholder="pattern"
                  w={240}
                  {...form.getInputProps(`rules.${i}.pattern`)}
                />
                <Select
                  aria-label="Rule action"
                  data={RULE_ACTIONS}
                  allowDeselect={false}
                  w={110}
                  {...form.getInputProps(`rules.${i}.action`)}
                />
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label="Remove rule"
                  onClick={() => form.removeListItem("rules", i)}
                  mt={6}
                >
                  ×
                </ActionIcon>
              </Group>
            ))}
            <Button
              size="xs"
              variant="subtle"
              w="fit-content"
              onClick={() => form.insertListItem("rules", emptyRule())}
            >
              Add rule
            </Button>
          </Stack>
        </Paper>
        {general && (
          <Text c="red" size="sm" role="alert">
            {general}
          </Text>
        )}
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending} disabled={!form.isDirty()}>
            Save policy
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function Incidents() {
  const org = useCurrentOrg()!;
  const qc = useQueryClient();
  const [reviewed, setReviewed] = useState<string | null>("false");
  const [severity, setSeverity] = useState<string | null>(null);
  const pages = useCursorPages();
  const [reviewing, setReviewing] = useState<Incident | null>(null);
  const [note, setNote] = useState("");
  const cursor = pages.cursor;
  const page = useQuery({
    queryKey: ["org", org.slug, "incidents", reviewed, severity, cursor],
    queryFn: () =>
      api.get<{ incidents: Incident[]; nextCursor: string | null }>(
        orgUrl(org.slug, `/incidents${qs({ reviewed, severity, cursor, limit: 25 })}`),
      ),
    placeholderData: keepPreviousData,
  });
  const review = useMutation({
    mutationFn: (v: { id: string; note: string }) =>
      api.post<Incident>(orgUrl(org.slug, `/incidents/${v.id}/review`), v.note.trim() ? { note: v.note.trim() } : {}),
    onSuccess: async () => {
      setReviewing(null);
      setNote("");
      await qc.invalidateQueries({ queryKey: ["org", org.slug, "incidents"] });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const filter = (set: (v: string | null) => void) => (v: string | null) => {
    set(v);
    pages.reset();
  };
  return (
    <Stack>
      <Group>
        <Select
          label="Status"
          data={[
            { value: "false", label: "To review" },
            { value: "true", label: "Reviewed" },
          ]}
          placeholder="All"
          clearable
          value={reviewed}
          onChange={filter(setReviewed)}
          w={160}
        />
        <Select
          label="Severity"
          data={["low", "medium", "high", "critical"]}
          placeholder="Any"
          clearable
          value={severity}
          onChange={filter(setSeverity)}
          w={160}
        />
      </Group>
      {page.isPending ? (
        <PageLoader />
      ) : page.error ? (
        <QueryError error={page.error} retry={() => page.refetch()} />
      ) : page.data.incidents.length === 0 ? (
        <Text c="dimmed" size="sm" data-testid="incidents-empty">
          No incidents{reviewed === "false" ? " to review" : ""}. The gateway records one whenever the policy logs,
          masks, redacts or blocks something.
        </Text>
      ) : (
        <>
          <Table.ScrollContainer minWidth={900}>
            <Table striped aria-label="Incidents">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Project</Table.Th>
                  <Table.Th>What</Table.Th>
                  <Table.Th>Action</Table.Th>
                  <Table.Th>Severity</Table.Th>
                  <Table.Th>Excerpt</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {page.data.incidents.map((i) => (
                  <Table.Tr key={i.id} data-testid="incident-row">
                    <Table.Td>{dateTime(i.createdAt)}</Table.Td>
                    <Table.Td>{i.project.name}</Table.Td>
                    <Table.Td>
                      {i.ruleName ? `rule “${i.ruleName}”` : i.type}{" "}
                      <Text span size="xs" c="dimmed">
                        ({i.direction})
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge
                        variant="light"
                        color={i.action === "block" ? "red" : "yellow"}
                        miw="max-content"
                        data-testid="incident-action"
                      >
                        {i.action}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{i.severity}</Table.Td>
                    <Table.Td>
                      <Code>{i.excerpt}</Code>
                    </Table.Td>
                    <Table.Td>
                      {i.reviewed ? (
                        <Text size="xs" c="dimmed">
                          reviewed by {i.reviewedBy?.email ?? "—"}
                          {i.reviewNote ? `: ${i.reviewNote}` : ""}
                        </Text>
                      ) : (
                        <Button size="xs" variant="light" onClick={() => setReviewing(i)}>
                          Review
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager pages={pages} nextCursor={page.data.nextCursor} />
        </>
      )}
      <Modal opened={!!reviewing} onClose={() => setReviewing(null)} title="Review incident">
        <Stack>
          <Text size="sm">
            {reviewing?.type} in request <Code>{reviewing?.requestId}</Code> of {reviewing?.project.name}.
          </Text>
          <Textarea
            label="Note"
            placeholder="Optional: what you found, what you did"
            value={note}
            onChange={(e) => setNote(e.currentTarget.value)}
            autosize
            minRows={2}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setReviewing(null)}>
              Cancel
            </Button>
            <Button loading={review.isPending} onClick={() => reviewing && review.mutate({ id: reviewing.id, note })}>
              Mark reviewed
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
