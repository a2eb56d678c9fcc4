/**
 * Organization providers: custom endpoints (OpenAI / Anthropic / Gemini format,
 * Azure OpenAI resources, Google Vertex AI projects, Amazon Bedrock) with an encrypted key
 * (Vertex AI: a service account key, shown by its client_email; Bedrock: the AWS secret,
 * shown by its access key id) and their models and prices
 * (and, for Azure, each model's deployment). Add, test, edit, delete; the
 * add dialog (a preset or a custom provider) is providers-presets.tsx, the
 * edit dialog providers-form.tsx. An OpenAI-format provider shows the models
 * its upstream listed (providers-discovered.tsx); one with several
 * credentials shows them, and its connection test a result per credential.
 */
import { Alert, Badge, Button, Card, Code, Group, List, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, orgUrl, type Provider, type ProviderTest } from "../api";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";
import { DiscoveredModels } from "./providers-discovered";
import { ProviderModal } from "./providers-form";
import { AddProviderModal } from "./providers-presets";

const failure = (e: ProviderTest["error"]) => `Failed (${e?.kind}${e?.status ? ` ${e.status}` : ""}): ${e?.message}`;

export function ProvidersPage() {
  const org = useCurrentOrg()!;
  const canManage = useCan(["provider", "manage"]);
  const qc = useQueryClient();
  const [editing, setEditing] = useState<Provider | "new" | null>(null);
  const [deleting, setDeleting] = useState<Provider | null>(null);
  const [results, setResults] = useState<Record<string, ProviderTest>>({});
  const providers = useQuery({
    queryKey: ["org", org.slug, "providers"],
    queryFn: () => api.get<{ providers: Provider[] }>(orgUrl(org.slug, "/providers")),
  });
  const test = useMutation({
    // The server picks the model: the first entered one, else the first chat model the upstream listed.
    mutationFn: (p: Provider) => api.post<ProviderTest>(orgUrl(org.slug, `/providers/${p.slug}/test`), {}),
    onSuccess: (r, p) => setResults((x) => ({ ...x, [p.slug]: r })),
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const remove = useMutation({
    mutationFn: (slug: string) => api.del(orgUrl(org.slug, `/providers/${slug}`)),
    onSuccess: async () => {
      setDeleting(null);
      await qc.invalidateQueries({ queryKey: ["org", org.slug, "providers"] });
    },
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Providers</Title>
        <Button onClick={() => setEditing("new")}>Add provider</Button>
      </Group>
      <Text size="sm" c="dimmed">
        Built-in providers (OpenAI, Anthropic, Gemini when configured on the server, and <Code>mock</Code>) are always
        available. Add a vendor from its preset (OpenRouter, Groq, Mistral…) or your own endpoints — vLLM, Ollama, Azure
        OpenAI, any OpenAI-compatible API — and call their models as <Code>provider-slug/model</Code>.
      </Text>
      {providers.isPending ? (
        <PageLoader />
      ) : providers.error ? (
        <QueryError error={providers.error} retry={() => providers.refetch()} />
      ) : providers.data.providers.length === 0 ? (
        <Card withBorder p="xl" data-testid="providers-empty">
          <Stack align="flex-start">
            <Title order={4}>No custom providers</Title>
            <Text size="sm">
              Pick a vendor and paste its key (its models are listed for you), or add a base URL, an API format and a
              key and list the models with their prices so usage is costed.
            </Text>
            <Button onClick={() => setEditing("new")}>Add your first provider</Button>
          </Stack>
        </Card>
      ) : (
        providers.data.providers.map((p) => {
          const r = results[p.slug];
          return (
            <Card key={p.id} withBorder data-testid={`provider-${p.slug}`}>
              <Group justify="space-between" mb="xs">
                <Group gap="xs">
                  <Text fw={600}>{p.name}</Text>
                  <Code>{p.slug}</Code>
                  <Badge variant="light">{p.format}</Badge>
                  {p.preset && <Badge variant="outline">preset: {p.preset}</Badge>}
                </Group>
                <Group gap="xs">
                  <Button
                    size="xs"
                    variant="light"
                    onClick={() => test.mutate(p)}
                    loading={test.isPending && test.variables?.slug === p.slug}
                  >
                    Test connection
                  </Button>
                  <Button size="xs" variant="default" onClick={() => setEditing(p)}>
                    Edit
                  </Button>
                  <Button size="xs" variant="subtle" color="red" onClick={() => setDeleting(p)}>
                    Delete
                  </Button>
                </Group>
              </Group>
              <Text size="sm">
                {p.baseUrl} · key {p.apiKeyHint || "none"}
                {p.headerNames.length ? ` · headers: ${p.headerNames.join(", ")}` : ""}
                {p.apiVersion ? ` · API version ${p.apiVersion}` : ""}
                {p.project ? ` · project ${p.project} in ${p.location}` : ""}
                {p.region ? ` · region ${p.region}` : ""}
              </Text>
              {p.credentials && (
                <List size="sm" aria-label={`Credentials of ${p.name}`}>
                  {p.credentials.map((c) => (
                    <List.Item key={c.id}>
                      {`${c.hint} · weight ${c.weight}${c.rpm ? ` · ${c.rpm} requests/min` : ""}${c.baseUrl ? ` · ${c.baseUrl}` : ""}`}
                    </List.Item>
                  ))}
                </List>
              )}
              {r && (
                <Alert mt="xs" color={r.ok ? "green" : "red"} data-testid="provider-test-result">
                  {r.ok ? `Connected: ${r.model ?? "model"} answered in ${r.latencyMs} ms.` : failure(r.error)}
                  {r.credentials && (
                    <List size="sm" mt={4}>
                      {r.credentials.map((c) => (
                        <List.Item key={c.id} data-testid="provider-test-credential">
                          {`${p.credentials?.find((x) => x.id === c.id)?.hint ?? c.id}: `}
                          {c.ok ? `answered in ${c.latencyMs} ms` : failure(c.error)}
                        </List.Item>
                      ))}
                    </List>
                  )}
                </Alert>
              )}
              {(p.format === "openai" || p.discoveredModels) && (
                <DiscoveredModels org={org.slug} provider={p} canManage={canManage} />
              )}
              {p.models.length > 0 && (
                <Table.ScrollContainer minWidth={560} mt="xs">
                  <Table aria-label={`Models of ${p.name}`}>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Model</Table.Th>
                        {p.deployments && <Table.Th>Deployment</Table.Th>}
                        <Table.Th>Input $/M</Table.Th>
                        <Table.Th>Cached input $/M</Table.Th>
                        <Table.Th>Output $/M</Table.Th>
                        <Table.Th>Context</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {p.models.map((m) => (
                        <Table.Tr key={m.id}>
                          <Table.Td>
                            <Code>{`${p.slug}/${m.id}`}</Code>
                          </Table.Td>
                          {p.deployments && <Table.Td>{p.deployments[m.id] ?? m.id}</Table.Td>}
                          <Table.Td>{m.inputPricePerMillionUsd}</Table.Td>
                          <Table.Td>{m.cachedInputPricePerMillionUsd}</Table.Td>
                          <Table.Td>{m.outputPricePerMillionUsd}</Table.Td>
                          <Table.Td>{m.contextWindow ?? "—"}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              )}
            </Card>
          );
        })
      )}
      {editing === "new" ? (
        <AddProviderModal org={org.slug} onClose={() => setEditing(null)} />
      ) : (
        editing && <ProviderModal org={org.slug} provider={editing} onClose={() => setEditing(null)} />
      )}
      <Modal opened={!!deleting} onClose={() => setDeleting(null)} title="Delete provider">
        <Stack>
          <Text>Delete {deleting?.name}? Requests to its models fail from now on.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDeleting(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => deleting && remove.mutate(deleting.slug)}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
