/**
 * Organization providers: custom endpoints (OpenAI / Anthropic / Gemini format)
 * with an encrypted key and their models and prices. Add, test, edit, delete.
 */
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Modal,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, formErrors, orgUrl, type Provider, type ProviderTest } from "../api";
import { PageLoader, QueryError, useCurrentOrg } from "../session";

interface ModelRow {
  id: string;
  inputPricePerMillion: string;
  cachedInputPricePerMillion: string;
  outputPricePerMillion: string;
  contextWindow: number | "";
}

const emptyModel = (): ModelRow => ({
  id: "",
  inputPricePerMillion: "",
  cachedInputPricePerMillion: "",
  outputPricePerMillion: "",
  contextWindow: "",
});

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
        available. Add your own endpoints — vLLM, Ollama, Azure, any OpenAI-compatible API — and call their models as{" "}
        <Code>provider-slug/model</Code>.
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

function ProviderModal({ org, provider, onClose }: { org: string; provider: Provider | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: {
      name: provider?.name ?? "",
      slug: provider?.slug ?? "",
      format: provider?.format ?? "openai",
      baseUrl: provider?.baseUrl ?? "",
      apiKey: "",
      models: provider
        ? provider.models.map((m) => ({
            id: m.id,
            inputPricePerMillion: m.inputPricePerMillionUsd,
            cachedInputPricePerMillion: m.cachedInputPricePerMillionUsd,
            outputPricePerMillion: m.outputPricePerMillionUsd,
            contextWindow: m.contextWindow ?? ("" as number | ""),
          }))
        : [emptyModel()],
    },
    validate: {
      name: (v) => (v.trim() ? null : "Name is required."),
      baseUrl: (v) => (/^https?:\/\/\S+$/.test(v) ? null : "Enter the API's base URL, e.g. https://api.example.com/v1"),
    },
  });
  const save = useMutation({
    mutationFn: (v: typeof form.values) => {
      const models = v.models
        .filter((m: ModelRow) => m.id.trim())
        .map((m: ModelRow) => ({
          id: m.id.trim(),
          ...(m.inputPricePerMillion ? { inputPricePerMillion: m.inputPricePerMillion } : {}),
          ...(m.cachedInputPricePerMillion ? { cachedInputPricePerMillion: m.cachedInputPricePerMillion } : {}),
          ...(m.outputPricePerMillion ? { outputPricePerMillion: m.outputPricePerMillion } : {}),
          ...(m.contextWindow !== "" ? { contextWindow: Number(m.contextWindow) } : {}),
        }));
      const body: Record<string, unknown> = {
        name: v.name.trim(),
        format: v.format,
        baseUrl: v.baseUrl.trim(),
        models,
      };
      if (v.slug.trim() && v.slug !== provider?.slug) body.slug = v.slug.trim();
      if (!provider || v.apiKey) body.apiKey = v.apiKey;
      return provider
        ? api.patch<Provider>(orgUrl(org, `/providers/${provider.slug}`), body)
        : api.post<Provider>(orgUrl(org, "/providers"), body);
    },
    onSuccess: async () => {
      notifications.show({ color: "green", message: provider ? "Provider saved." : "Provider added." });
      await qc.invalidateQueries({ queryKey: ["org", org, "providers"] });
      onClose();
    },
    onError: (err) => {
      const e = formErrors(err, ["name", "slug", "format", "baseUrl", "apiKey", "models"]);
      form.setErrors(e.fields);
      setGeneral(e.general ?? (e.fields.models ? `Models: ${e.fields.models}` : null));
    },
  });
  return (
    <Modal opened onClose={onClose} title={provider ? `Edit ${provider.name}` : "Add provider"} size="xl">
      <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate>
        <Stack>
          <Group grow align="flex-start">
            <TextInput label="Name" placeholder="Our vLLM" required {...form.getInputProps("name")} />
            <TextInput
              label="Slug"
              placeholder="derived from the name"
              description="Models are called as slug/model."
              {...form.getInputProps("slug")}
            />
          </Group>
          <Group grow align="flex-start">
            <Select
              label="API format"
              data={[
                { value: "openai", label: "OpenAI-compatible" },
                { value: "anthropic", label: "Anthropic" },
                { value: "gemini", label: "Google Gemini" },
              ]}
              allowDeselect={false}
              {...form.getInputProps("format")}
            />
            <TextInput
              label="Base URL"
              placeholder="https://api.example.com/v1"
              required
              {...form.getInputProps("baseUrl")}
            />
          </Group>
          <PasswordInput
            label="API key"
            description={
              provider
                ? `Stored encrypted (${provider.apiKeyHint || "none"}). Leave empty to keep it.`
                : "Stored encrypted; never shown again."
            }
            {...form.getInputProps("apiKey")}
          />
          <Text fw={600} size="sm">
            Models and prices (USD per million tokens)
          </Text>
          {form.values.models.map((_m: ModelRow, i: number) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity; each input is controlled by form.values at its index, so after a removal every row shows its own values
            <Group key={i} align="flex-end" gap="xs" wrap="wrap">
              <TextInput
                label={i === 0 ? "Model id" : undefined}
                aria-label="Model id"
                placeholder="llama-3-70b"
                w={200}
                {...form.getInputProps(`models.${i}.id`)}
              />
              <TextInput
                label={i === 0 ? "Input" : undefined}
                aria-label="Input price"
                placeholder="0"
                w={90}
                {...form.getInputProps(`models.${i}.inputPricePerMillion`)}
              />
              <TextInput
                label={i === 0 ? "Cached" : undefined}
                aria-label="Cached input price"
                placeholder="0"
                w={90}
                {...form.getInputProps(`models.${i}.cachedInputPricePerMillion`)}
              />
              <TextInput
                label={i === 0 ? "Output" : undefined}
                aria-label="Output price"
                placeholder="0"
                w={90}
                {...form.getInputProps(`models.${i}.outputPricePerMillion`)}
              />
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label="Remove model"
                onClick={() => form.removeListItem("models", i)}
                mb={4}
              >
                ×
              </ActionIcon>
            </Group>
          ))}
          <Button
            variant="subtle"
            size="xs"
            w="fit-content"
            onClick={() => form.insertListItem("models", emptyModel())}
          >
            Add model
          </Button>
          {general && (
            <Text c="red" size="sm" role="alert">
              {general}
            </Text>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              {provider ? "Save" : "Add provider"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
