/**
 * The "Add provider" dialog: what the provider starts from — a preset (an
 * OpenAI-compatible vendor, or a server of the team's own) or a custom
 * provider (the full form, providers-form.tsx, shown until a preset is
 * picked). A preset's form asks only for a key (optional on a self-hosted
 * server), the base URL (the preset's, or the server's address) and,
 * optionally, a name and a slug; the server fills in the rest and lists the
 * vendor's models at once, and the notification says how many it found or
 * why the listing failed (the provider is added either way).
 */
import { Anchor, Button, Group, Loader, Modal, PasswordInput, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, formErrors, orgUrl, type Provider, type ProviderDiscovery, type ProviderPreset } from "../api";
import { ProviderForm } from "./providers-form";
import { FormFooter } from "../form-footer";

export function AddProviderModal({ org, onClose }: { org: string; onClose: () => void }) {
  const [preset, setPreset] = useState<ProviderPreset | null>(null);
  const presets = useQuery({
    queryKey: ["provider-presets"],
    queryFn: () => api.get<{ presets: ProviderPreset[] }>("/api/v1/provider-presets"),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const choice = (p: ProviderPreset | null, label: string) => (
    <Button
      key={p?.id ?? "custom"}
      size="xs"
      variant={preset?.id === p?.id ? "filled" : "default"}
      aria-pressed={preset?.id === p?.id}
      onClick={() => setPreset(p)}
    >
      {label}
    </Button>
  );
  const all = presets.data?.presets ?? [];
  return (
    <Modal opened onClose={onClose} title="Add provider" size="xl">
      <Stack>
        <Stack gap={6}>
          <Text size="sm" c="dimmed">
            Start from a vendor: paste its key and its models are listed for you, priced when the price library knows
            them. Or add any endpoint as a custom provider.
          </Text>
          {presets.isPending ? (
            <Loader size="sm" aria-label="Loading presets" />
          ) : presets.error ? (
            <Text c="red" size="sm" role="alert">
              The presets could not be loaded: {presets.error.message}
            </Text>
          ) : (
            <>
              <Text size="sm" fw={500} id="presets-hosted">
                Vendors
              </Text>
              <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="xs" role="group" aria-labelledby="presets-hosted">
                {all.filter((p) => !p.selfHosted).map((p) => choice(p, p.name))}
              </SimpleGrid>
              <Text size="sm" fw={500} id="presets-own">
                Your own server, or custom
              </Text>
              <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="xs" role="group" aria-labelledby="presets-own">
                {all.filter((p) => p.selfHosted).map((p) => choice(p, p.name))}
                {choice(null, "Custom provider")}
              </SimpleGrid>
            </>
          )}
        </Stack>
        {preset ? (
          <PresetForm key={preset.id} org={org} preset={preset} onClose={onClose} />
        ) : (
          <ProviderForm org={org} provider={null} onClose={onClose} />
        )}
      </Stack>
    </Modal>
  );
}

/** What a notification says about the listing of a new provider's models. */
function discoveryMessage(name: string, d: ProviderDiscovery | undefined): { color: string; message: string } {
  if (!d) return { color: "green", message: `${name} added.` };
  if (!d.ok) return { color: "yellow", message: `${name} added, but its models could not be listed: ${d.error}` };
  const from = d.source === "price-library" ? " (from the price library: the vendor's API has no list)" : "";
  return { color: "green", message: `${name} added: ${d.count} model${d.count === 1 ? "" : "s"} found${from}.` };
}

function PresetForm({ org, preset, onClose }: { org: string; preset: ProviderPreset; onClose: () => void }) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { apiKey: "", baseUrl: preset.baseUrl, name: "", slug: "" },
    validate: {
      apiKey: (v) => (preset.selfHosted || v.trim() ? null : `Enter your ${preset.name} API key.`),
      baseUrl: (v) => (/^https?:\/\/\S+$/.test(v.trim()) ? null : `Enter a URL, e.g. ${preset.baseUrl}`),
    },
  });
  const save = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<Provider & { discovery?: ProviderDiscovery }>(orgUrl(org, "/providers"), {
        preset: preset.id,
        baseUrl: v.baseUrl.trim(),
        ...(v.apiKey.trim() ? { apiKey: v.apiKey.trim() } : {}),
        ...(v.name.trim() ? { name: v.name.trim() } : {}),
        ...(v.slug.trim() ? { slug: v.slug.trim() } : {}),
      }),
    onSuccess: async (p) => {
      notifications.show({ ...discoveryMessage(p.name, p.discovery), autoClose: 8000 });
      await qc.invalidateQueries({ queryKey: ["org", org, "providers"] });
      onClose();
    },
    onError: (err) => {
      const e = formErrors(err, ["apiKey", "baseUrl", "name", "slug"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate data-testid="preset-form">
      <Stack>
        <Text size="sm">
          <b>{preset.name}</b> speaks the OpenAI API.{" "}
          {preset.priced
            ? "Its models are listed from its API and priced from the price library."
            : "Its models are listed from the server; a model no price is known for costs nothing."}
        </Text>
        <PasswordInput
          label="API key"
          required={!preset.selfHosted}
          description={
            preset.selfHosted ? (
              "Optional: only if your server checks one. Stored encrypted; never shown again."
            ) : preset.keysUrl ? (
              <>
                Create one at{" "}
                <Anchor href={preset.keysUrl} target="_blank" rel="noreferrer" size="xs">
                  {preset.keysUrl.replace(/^https:\/\//, "")}
                </Anchor>
                . Stored encrypted; never shown again.
              </>
            ) : (
              "Stored encrypted; never shown again."
            )
          }
          {...form.getInputProps("apiKey")}
        />
        <TextInput
          label="Base URL"
          required
          description={
            preset.selfHosted
              ? `Enter your ${preset.name} server's address as this Tollgate server reaches it (${preset.baseUrl} is the usual local one).`
              : `${preset.name}'s API; change it only to go through a proxy.`
          }
          {...form.getInputProps("baseUrl")}
        />
        <Group grow align="flex-start">
          <TextInput label="Name" placeholder={preset.name} description="Optional." {...form.getInputProps("name")} />
          <TextInput
            label="Slug"
            placeholder={preset.id}
            description="Optional. Models are called as slug/model."
            {...form.getInputProps("slug")}
          />
        </Group>
        <FormFooter error={general} onCancel={onClose} submitLabel="Add provider" loading={save.isPending} />
      </Stack>
    </form>
  );
}
