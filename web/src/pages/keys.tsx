/**
 * API keys of a project. A new key is shown exactly once (the server keeps only
 * its hash) with a copy button and ready-to-run snippets against this server.
 * Each key may carry its own limits (keys-limits.tsx), set on creation and
 * changed by whoever may revoke it.
 */
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Collapse,
  CopyButton,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useParams } from "react-router";
import { api, type ApiKey, projectUrl } from "../api";
import { useRemoval } from "../removal";
import { dateTime } from "../format";
import { PageLoader, QueryError, useCan, useMe } from "../session";
import {
  createLimitsBody,
  EditLimitsModal,
  emptyLimits,
  KeyLimitsSummary,
  LimitsFields,
  type LimitsValues,
  limitsErrors,
} from "./keys-limits";
import { useProject } from "./project";
import { FormFooter } from "../form-footer";

type CreatedKey = ApiKey & { key: string };

export function KeysPage() {
  const { org = "", project = "" } = useParams();
  const me = useMe();
  const canRevokeAny = useCan(["key", "revokeAny"]);
  const proj = useProject();
  const [createOpen, create] = useDisclosure(false);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const keys = useQuery({
    queryKey: ["org", org, "project", project, "keys"],
    queryFn: () => api.get<{ keys: ApiKey[] }>(projectUrl(org, project, "/keys")),
  });
  const revoke = useRemoval({
    url: (id) => projectUrl(org, project, `/keys/${id}`),
    done: "Key revoked. It stopped working at once.",
    queryKey: ["org", org, "project", project, "keys"],
    onDone: () => setRevoking(null),
  });
  const model = proj.data?.defaultModel ?? "mock/echo";
  const suggestions = proj.data?.allowedModels ?? [];
  const mayChange = (k: ApiKey) => canRevokeAny || k.createdBy.userId === me.data?.user.id;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>API Keys</Title>
        <Button onClick={create.open}>Create key</Button>
      </Group>
      {created && <NewKey created={created} model={model} onDone={() => setCreated(null)} />}
      {keys.isPending ? (
        <PageLoader />
      ) : keys.error ? (
        <QueryError error={keys.error} retry={() => keys.refetch()} />
      ) : keys.data.keys.length === 0 && !created ? (
        <Card withBorder p="xl" data-testid="keys-empty">
          <Stack>
            <Title order={4}>No keys yet</Title>
            <Text size="sm">
              Create a key, then call this server like OpenAI — only the base URL and the key change:
            </Text>
            <Snippets apiKey="tg_live_…" model={model} />
            <Button onClick={create.open} w="fit-content">
              Create your first key
            </Button>
          </Stack>
        </Card>
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table striped aria-label="API keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Key</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Limits</Table.Th>
                <Table.Th>Created by</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data.keys.map((k) => (
                <Table.Tr key={k.id} data-testid={`key-${k.name}`}>
                  <Table.Td>
                    {k.name}{" "}
                    <Badge size="xs" variant="outline" color={k.environment === "live" ? "indigo" : "gray"}>
                      {k.environment}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Code>{k.hint}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Badge
                      color={k.status === "active" ? "green" : k.status === "expired" ? "yellow" : "red"}
                      variant="light"
                    >
                      {k.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <KeyLimitsSummary apiKey={k} />
                  </Table.Td>
                  <Table.Td>{k.createdBy.email ?? "—"}</Table.Td>
                  <Table.Td>{k.lastUsedAt ? dateTime(k.lastUsedAt) : "never"}</Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap" justify="flex-end">
                      {k.status !== "revoked" && mayChange(k) && (
                        <Button size="xs" variant="subtle" onClick={() => setEditing(k)}>
                          Edit limits
                        </Button>
                      )}
                      {k.status === "active" && mayChange(k) && (
                        <Button size="xs" variant="subtle" color="red" onClick={() => setRevoking(k)}>
                          Revoke
                        </Button>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <CreateKeyModal
        org={org}
        project={project}
        opened={createOpen}
        suggestions={suggestions}
        onClose={create.close}
        onCreated={(k) => {
          setCreated(k);
          create.close();
        }}
      />
      <EditLimitsModal
        org={org}
        project={project}
        apiKey={editing}
        suggestions={suggestions}
        onClose={() => setEditing(null)}
      />
      <Modal opened={!!revoking} onClose={() => setRevoking(null)} title="Revoke key">
        <Stack>
          <Text>Revoke “{revoking?.name}”? Requests with it are refused from now on; this cannot be undone.</Text>
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

function NewKey({ created, model, onDone }: { created: CreatedKey; model: string; onDone: () => void }) {
  return (
    <Alert color="green" title={`Key “${created.name}” created — copy it now`} data-testid="new-key">
      <Stack gap="sm">
        <Text size="sm">This is the only time the full key is shown. Tollgate stores only its hash.</Text>
        <Group wrap="nowrap" align="center">
          <Code block style={{ flex: 1, wordBreak: "break-all" }} data-testid="new-key-value">
            {created.key}
          </Code>
          <CopyButton value={created.key}>
            {({ copied, copy }) => (
              <Button size="xs" color={copied ? "teal" : "indigo"} onClick={copy}>
                {copied ? "Copied" : "Copy"}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Snippets apiKey={created.key} model={model} />
        <Button size="xs" variant="light" w="fit-content" onClick={onDone}>
          I have stored the key
        </Button>
      </Stack>
    </Alert>
  );
}

/** Copy-ready calls against this very server (its origin is the gateway's base URL). */
export function Snippets({ apiKey, model }: { apiKey: string; model: string }) {
  const origin = window.location.origin;
  const curl = `curl ${origin}/v1/chat/completions \\
  -H "Authorization: Bearer ${apiKey}" \\
  -H "Content-Type: application/json" \\
  -d '{"model":"${model}","messages":[{"role":"user","content":"Hello, Tollgate"}]}'`;
  const sdk = `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${origin}/v1", apiKey: "${apiKey}" });
const res = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello, Tollgate" }],
});
console.log(res.choices[0].message.content);`;
  const py = `from openai import OpenAI

client = OpenAI(base_url="${origin}/v1", api_key="${apiKey}")
res = client.chat.completions.create(model="${model}", messages=[{"role": "user", "content": "Hello, Tollgate"}])
print(res.choices[0].message.content)`;
  const block = (code: string) => (
    <Stack gap={4}>
      <Code block data-testid="snippet">
        {code}
      </Code>
      <CopyButton value={code}>
        {({ copied, copy }) => (
          <Button size="compact-xs" variant="subtle" w="fit-content" onClick={copy}>
            {copied ? "Copied" : "Copy snippet"}
          </Button>
        )}
      </CopyButton>
    </Stack>
  );
  return (
    <Tabs defaultValue="curl" variant="outline">
      <Tabs.List>
        <Tabs.Tab value="curl">curl</Tabs.Tab>
        <Tabs.Tab value="node">OpenAI SDK (Node)</Tabs.Tab>
        <Tabs.Tab value="python">OpenAI SDK (Python)</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="curl" pt="xs">
        {block(curl)}
      </Tabs.Panel>
      <Tabs.Panel value="node" pt="xs">
        {block(sdk)}
      </Tabs.Panel>
      <Tabs.Panel value="python" pt="xs">
        {block(py)}
      </Tabs.Panel>
    </Tabs>
  );
}

function CreateKeyModal(props: {
  org: string;
  project: string;
  opened: boolean;
  suggestions: string[];
  onClose: () => void;
  onCreated: (k: CreatedKey) => void;
}) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const [limitsOpen, setLimitsOpen] = useState(false);
  const form = useForm({
    initialValues: { name: "", environment: "live", expiresAt: "", ...emptyLimits() },
    validate: { name: (v) => (v.trim() ? null : "Name is required.") },
  });
  const create = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<CreatedKey>(projectUrl(props.org, props.project, "/keys"), {
        name: v.name.trim(),
        environment: v.environment,
        expiresAt: v.expiresAt ? new Date(`${v.expiresAt}T23:59:59`).toISOString() : undefined,
        ...createLimitsBody(v),
      }),
    onSuccess: async (k) => {
      form.reset();
      setGeneral(null);
      setLimitsOpen(false);
      props.onCreated(k);
      await qc.invalidateQueries({ queryKey: ["org", props.org, "project", props.project, "keys"] });
    },
    onError: (err) => {
      const e = limitsErrors(err, ["name", "environment", "expiresAt"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
      if (e.onLimits) setLimitsOpen(true);
    },
  });
  return (
    <Modal opened={props.opened} onClose={props.onClose} title="Create API key" size="lg">
      <form onSubmit={form.onSubmit((v) => create.mutate(v))} noValidate>
        <Stack>
          <TextInput label="Name" placeholder="backend-prod" required data-autofocus {...form.getInputProps("name")} />
          <Select
            label="Environment"
            data={[
              { value: "live", label: "live — billed" },
              { value: "test", label: "test — free models and your own providers only, lower limits" },
            ]}
            allowDeselect={false}
            {...form.getInputProps("environment")}
          />
          <TextInput
            label="Expires on"
            type="date"
            description="Optional. The key stops working at the end of that day."
            {...form.getInputProps("expiresAt")}
          />
          <Button
            variant="subtle"
            size="xs"
            w="fit-content"
            aria-expanded={limitsOpen}
            onClick={() => setLimitsOpen((o) => !o)}
          >
            {limitsOpen ? "Hide limits" : "Limits (optional): models, rate limits, budget"}
          </Button>
          <Collapse expanded={limitsOpen}>
            <LimitsFields input={(f: keyof LimitsValues) => form.getInputProps(f)} suggestions={props.suggestions} />
          </Collapse>
          <FormFooter error={general} onCancel={props.onClose} submitLabel="Create key" loading={create.isPending} />
        </Stack>
      </form>
    </Modal>
  );
}
