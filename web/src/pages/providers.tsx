/**
 * Organization providers: custom endpoints (OpenAI / Anthropic / Gemini format,
 * Azure OpenAI resources, Google Vertex AI projects, Amazon Bedrock) with an encrypted key
 * (Vertex AI: a service account key, shown by its client_email; Bedrock: the AWS secret,
 * shown by its access key id) and their models and prices
 * (and, for Azure, each model's deployment). Add, test, edit, delete; the
 * add / edit dialog is providers-form.tsx.
 */
import { Alert, Badge, Button, Card, Code, Group, Modal, Stack, Table, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, orgUrl, type Provider, type ProviderTest } from "../api";
import { PageLoader, QueryError, useCurrentOrg } from "../session";
import { ProviderModal } from "./providers-form";

export function ProvidersPage() {
  const org = useCurrentOrg()!;
  const qc = useQueryClient();
  const [editing, setEditing] = useState<Provider | "new" | null>(null);
  const [deleting, setDeleting] = useState<Provider | null>(null);
  const [results, setResults] = useState<Record<string, ProviderTest>>({});
  const providers = useQuery({
    queryKey: ["org", org.slug, "providers"],
    queryFn: () => api.get<{ providers: Provider[] }>(orgUrl(org.slug, "/providers")),
  });
  const test = useMutation({
    mutationFn: (slug: string) => api.post<ProviderTest>(orgUrl(org.slug, `/providers/${slug}/test`), {}),
    onSuccess: (r, slug) => setResults((x) => ({ ...x, [slug]: r })),
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
        available. Add your own endpoints — vLLM, Ollama, Azure OpenAI, any OpenAI-compatible API — and call their
        models as <Code>provider-slug/model</Code>.
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
              Add a base URL, an API format and a key; list the models with their prices so usage is costed.
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
                </Group>
                <Group gap="xs">
                  <Button
                    size="xs"
                    variant="light"
                    onClick={() => test.mutate(p.slug)}
                    loading={test.isPending && test.variables === p.slug}
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
              {r && (
                <Alert mt="xs" color={r.ok ? "green" : "red"} data-testid="provider-test-result">
                  {r.ok
                    ? `Connected: ${r.model ?? "model"} answered in ${r.latencyMs} ms.`
                    : `Failed (${r.error?.kind}${r.error?.status ? ` ${r.error.status}` : ""}): ${r.error?.message}`}
                </Alert>
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
      {editing && (
        <ProviderModal org={org.slug} provider={editing === "new" ? null : editing} onClose={() => setEditing(null)} />
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
