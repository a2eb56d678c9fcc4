/**
 * The Google Vertex AI part of the provider dialog: project, location and the
 * service account's JSON key (pasted whole), with the base URL and the token
 * URL under "Advanced" (empty: the location's endpoint, the key's own token
 * endpoint). The key is sent only when pasted (editing keeps the stored one,
 * shown by its client_email); an emptied advanced URL is sent empty, which
 * resets it to its default.
 */
import { Button, Collapse, Group, Stack, Textarea, TextInput } from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";
import { useState } from "react";
import { VERTEX_DEFAULT_LOCATION, vertexBaseUrl } from "../../../src/config-vertex";
import type { Provider } from "../api";

export interface VertexValues {
  project: string;
  location: string;
  serviceAccountJson: string;
  tokenUrl: string;
  baseUrl: string;
}

/** The form's starting Vertex values; a base URL that is the location's default shows empty. */
export function vertexInitialValues(p: Provider | null): Omit<VertexValues, "baseUrl"> & { vertexBaseUrl: string } {
  const location = p?.location ?? VERTEX_DEFAULT_LOCATION;
  return {
    project: p?.project ?? "",
    location,
    serviceAccountJson: "",
    tokenUrl: p?.tokenUrl ?? "",
    vertexBaseUrl: p?.format === "vertex" && p.baseUrl !== vertexBaseUrl(location) ? p.baseUrl : "",
  };
}

/** The Vertex fields of a create or update body. */
export function vertexBody(v: VertexValues, provider: Provider | null): Record<string, unknown> {
  const body: Record<string, unknown> = { project: v.project.trim(), location: v.location.trim() };
  if (v.serviceAccountJson.trim()) body.serviceAccountJson = v.serviceAccountJson;
  if (v.baseUrl.trim() || provider?.format === "vertex") body.baseUrl = v.baseUrl.trim();
  if (v.tokenUrl.trim() || provider?.tokenUrl) body.tokenUrl = v.tokenUrl.trim();
  return body;
}

// biome-ignore lint/suspicious/noExplicitAny: the dialog's form carries every format's fields; these are the Vertex ones
type Form = UseFormReturnType<any>;

export function VertexFields({ form, provider }: { form: Form; provider: Provider | null }) {
  const [advanced, setAdvanced] = useState(!!(provider?.tokenUrl || vertexInitialValues(provider).vertexBaseUrl));
  const location = String(form.values.location || VERTEX_DEFAULT_LOCATION);
  const keptKey = provider?.format === "vertex" ? provider.apiKeyHint : null;
  return (
    <Stack gap="sm">
      <Group grow align="flex-start">
        <TextInput
          label="Project"
          placeholder="my-project-123"
          description="The Google Cloud project with the Vertex AI API enabled."
          required
          {...form.getInputProps("project")}
        />
        <TextInput
          label="Location"
          placeholder={VERTEX_DEFAULT_LOCATION}
          description="us-central1, europe-west4, us-east5 (Claude)… or global."
          {...form.getInputProps("location")}
        />
      </Group>
      <Textarea
        label="Service account key (JSON)"
        placeholder='{"type": "service_account", "client_email": "…", "private_key": "…", …}'
        description={
          keptKey
            ? `Stored encrypted (${keptKey}). Leave empty to keep it.`
            : "The JSON key file of a service account with the Vertex AI User role. Stored encrypted; never shown again."
        }
        autosize
        minRows={3}
        maxRows={8}
        required={!keptKey}
        styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
        {...form.getInputProps("serviceAccountJson")}
      />
      <Button variant="subtle" size="xs" w="fit-content" onClick={() => setAdvanced((a) => !a)}>
        {advanced ? "Hide advanced settings" : "Advanced: base URL, token URL"}
      </Button>
      <Collapse expanded={advanced}>
        <Group grow align="flex-start">
          <TextInput
            label="Base URL"
            placeholder={vertexBaseUrl(location)}
            description="Empty: the location's endpoint."
            {...form.getInputProps("baseUrl")}
          />
          <TextInput
            label="Token URL"
            placeholder="https://oauth2.googleapis.com/token"
            description="Empty: the key's token_uri (Google's)."
            {...form.getInputProps("tokenUrl")}
          />
        </Group>
      </Collapse>
    </Stack>
  );
}
