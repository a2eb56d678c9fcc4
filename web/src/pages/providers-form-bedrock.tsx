/**
 * The Amazon Bedrock part of the provider dialog: region, access key id,
 * secret access key and session token (temporary credentials only), with the
 * base URL under "Advanced" (empty: the region's Bedrock runtime endpoint).
 * Credentials are sent whole and only when a secret is typed (editing keeps
 * the stored ones, shown by the access key id); a changed key id without its
 * secret is caught before sending. An emptied base URL is sent empty, which
 * resets it to the region's endpoint.
 */
import { Button, Collapse, Group, PasswordInput, Stack, TextInput } from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";
import { useState } from "react";
import { BEDROCK_REGION, bedrockBaseUrl } from "../../../src/config-bedrock";
import type { Provider } from "../api";

export interface BedrockValues {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  baseUrl: string;
}

const defaultBase = (region: string) => (BEDROCK_REGION.test(region) ? bedrockBaseUrl(region) : "");

/** The form's starting Bedrock values; a base URL that is the region's default shows empty. */
export function bedrockInitialValues(p: Provider | null): Omit<BedrockValues, "baseUrl"> & { bedrockBaseUrl: string } {
  const region = p?.region ?? "";
  return {
    region,
    accessKeyId: p?.accessKeyId ?? "",
    secretAccessKey: "",
    sessionToken: "",
    bedrockBaseUrl: p?.format === "bedrock" && p.baseUrl !== defaultBase(region) ? p.baseUrl : "",
  };
}

/** The Bedrock fields' checks (none for the other formats). */
export const bedrockValidate = {
  region: (v: string, values: { format: string }) =>
    values.format !== "bedrock" || BEDROCK_REGION.test(v.trim()) ? null : "Enter an AWS region, e.g. us-east-1.",
  accessKeyId: (v: string, values: { format: string }) =>
    values.format !== "bedrock" || v.trim() ? null : "Access key ID is required.",
  secretAccessKey: (v: string, values: { format: string; accessKeyId: string }, provider: Provider | null) => {
    if (values.format !== "bedrock" || v) return null;
    const kept = provider?.format === "bedrock" && provider.accessKeyId === values.accessKeyId.trim();
    return kept ? null : "Enter the secret access key of this access key ID.";
  },
};

/** The Bedrock fields of a create or update body. */
export function bedrockBody(v: BedrockValues, provider: Provider | null): Record<string, unknown> {
  const body: Record<string, unknown> = { region: v.region.trim() };
  if (v.secretAccessKey) {
    body.accessKeyId = v.accessKeyId.trim();
    body.secretAccessKey = v.secretAccessKey;
    if (v.sessionToken.trim()) body.sessionToken = v.sessionToken.trim();
  }
  if (v.baseUrl.trim() || provider?.format === "bedrock") body.baseUrl = v.baseUrl.trim();
  return body;
}

// biome-ignore lint/suspicious/noExplicitAny: the dialog's form carries every format's fields; these are Bedrock's
type Form = UseFormReturnType<any>;

export function BedrockFields({ form, provider }: { form: Form; provider: Provider | null }) {
  const [advanced, setAdvanced] = useState(!!bedrockInitialValues(provider).bedrockBaseUrl);
  const kept = provider?.format === "bedrock" ? provider.accessKeyId : null;
  return (
    <Stack gap="sm">
      <Group grow align="flex-start">
        <TextInput
          label="Region"
          placeholder="us-east-1"
          description="Where the models are enabled (Bedrock → Model access)."
          required
          {...form.getInputProps("region")}
        />
        <TextInput
          label="Access key ID"
          placeholder="AKIA…"
          description="An IAM user's access key (AKIA…) or temporary credentials (ASIA…)."
          required
          {...form.getInputProps("accessKeyId")}
        />
      </Group>
      <Group grow align="flex-start">
        <PasswordInput
          label="Secret access key"
          description={
            kept
              ? `Stored encrypted (for ${kept}). Leave empty to keep it; a new access key ID needs its secret.`
              : "Stored encrypted; never shown again."
          }
          required={!kept}
          {...form.getInputProps("secretAccessKey")}
        />
        <PasswordInput
          label="Session token"
          description="Temporary (STS) credentials only; sent with a new secret. Stored encrypted."
          {...form.getInputProps("sessionToken")}
        />
      </Group>
      <Button variant="subtle" size="xs" w="fit-content" onClick={() => setAdvanced((a) => !a)}>
        {advanced ? "Hide advanced settings" : "Advanced: base URL"}
      </Button>
      <Collapse expanded={advanced}>
        <TextInput
          label="Base URL"
          placeholder={
            defaultBase(String(form.values.region ?? "").trim()) || "https://bedrock-runtime.<region>.amazonaws.com"
          }
          description="Empty: the region's endpoint. A VPC interface endpoint otherwise."
          {...form.getInputProps("baseUrl")}
        />
      </Collapse>
    </Stack>
  );
}
