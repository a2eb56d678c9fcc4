/**
 * The "Several credentials" part of the provider dialog (OpenAI, Anthropic,
 * Gemini and Azure OpenAI formats): rows of a key, a weight, an optional
 * requests-per-minute limit and an optional endpoint of the credential's own
 * (e.g. another region's Azure OpenAI resource). A stored credential shows
 * its hint and keeps its key while the key input stays empty (it is sent by
 * its id). When rows exist they are sent instead of the single API key; a
 * provider whose rows are all removed needs a single key again.
 */
import { ActionIcon, Button, Group, NumberInput, PasswordInput, Stack, Text, TextInput } from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";
import type { Provider } from "../api";

export interface CredentialRow {
  /** A stored credential's id (null: a new one). */
  id: string | null;
  hint: string;
  apiKey: string;
  weight: number | string;
  rpm: number | string;
  baseUrl: string;
}

const KEYED_FORMATS = new Set(["openai", "anthropic", "gemini", "azure"]);
/** Whether the format takes several credentials. */
export const takesCredentials = (format: string) => KEYED_FORMATS.has(format);

const newRow = (apiKey = ""): CredentialRow => ({ id: null, hint: "", apiKey, weight: 1, rpm: "", baseUrl: "" });

export function credentialsInitialValues(p: Provider | null): CredentialRow[] {
  return (p?.credentials ?? []).map((c) => ({
    id: c.id,
    hint: c.hint,
    apiKey: "",
    weight: c.weight,
    rpm: c.rpm ?? "",
    baseUrl: c.baseUrl ?? "",
  }));
}

interface Values {
  format: string;
  credentials: CredentialRow[];
}

const rowAt = (values: Values, path: string) => values.credentials[Number(path.split(".")[1])];
const whole = (v: number | string, max: number) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= max;
};

/** The rows' checks (none when the format takes no credentials), and the single key's when rows were removed. */
export function credentialsValidate(provider: Provider | null) {
  return {
    credentials: {
      apiKey: (v: string, values: Values, path: string) =>
        !takesCredentials(values.format) || v || rowAt(values, path)?.id ? null : "Enter the key.",
      weight: (v: number | string, values: Values) =>
        !takesCredentials(values.format) || whole(v, 1000) ? null : "A whole number from 1 to 1000.",
      rpm: (v: number | string, values: Values) =>
        !takesCredentials(values.format) || v === "" || whole(v, 10_000_000) ? null : "A whole number from 1.",
      baseUrl: (v: string, values: Values) =>
        !takesCredentials(values.format) || !v.trim() || /^https?:\/\/\S+$/.test(v.trim())
          ? null
          : "Enter a URL, e.g. https://other-region.openai.azure.com",
    },
    /** Removing every credential of a provider that had several: the single key replaces them. */
    apiKey: (v: string, values: Values) =>
      provider?.credentials?.length && takesCredentials(values.format) && values.credentials.length === 0 && !v
        ? "Enter a key: it replaces the credentials."
        : null,
  };
}

/** The rows as the API takes them: a stored one by its id (its key only when a new one is typed). */
export function credentialsBody(rows: CredentialRow[]) {
  return rows.map((r) => ({
    ...(r.id ? { id: r.id } : {}),
    ...(r.apiKey ? { apiKey: r.apiKey } : {}),
    weight: Number(r.weight),
    ...(r.rpm !== "" ? { rpm: Number(r.rpm) } : {}),
    ...(r.baseUrl.trim() ? { baseUrl: r.baseUrl.trim() } : {}),
  }));
}

/** The paths the server's field errors of the rows come back under. */
export const credentialErrorFields = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    ["apiKey", "weight", "rpm", "baseUrl"].map((f) => `credentials.${i}.${f}`),
  ).flat();

// biome-ignore lint/suspicious/noExplicitAny: the dialog's form carries every format's fields; these are the credentials'
type Form = UseFormReturnType<any>;

export function CredentialsFields({ form, provider }: { form: Form; provider: Provider | null }) {
  const rows = form.values.credentials as CredentialRow[];
  const azure = form.values.format === "azure";
  const single = provider && !provider.credentials?.length && provider.apiKeyHint !== "(none)";
  const add = () => {
    // The first row takes a key typed in the single key field, which is hidden while rows exist.
    const typed = rows.length === 0 ? String(form.values.apiKey ?? "") : "";
    form.insertListItem("credentials", newRow(typed));
    if (typed) form.setFieldValue("apiKey", "");
  };
  return (
    <Stack gap="xs" data-testid="provider-credentials">
      <Text fw={600} size="sm">
        Several credentials
      </Text>
      <Text size="xs" c="dimmed">
        Each call goes to one credential, picked by weight, and fails over to the next before the first byte. Requests
        per minute caps a credential (over it, calls go to the others). The endpoint is optional: a credential's own
        base URL, e.g. {azure ? "another Azure region's resource" : "another region's or account's API"}.
        {rows.length > 0 ? " These credentials are used instead of a single API key." : ""}
        {rows.length > 0 && single ? ` The stored key (${provider.apiKeyHint}) is dropped unless you add it here.` : ""}
      </Text>
      {rows.map((r, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are controlled by form.values at their index (like the model rows)
        <Group key={i} align="flex-start" gap="xs" wrap="wrap">
          <PasswordInput
            label={i === 0 ? "Key" : undefined}
            aria-label={`Credential ${i + 1} key`}
            placeholder={r.id ? r.hint : "sk-…"}
            description={r.id ? `Stored (${r.hint}). Leave empty to keep it.` : undefined}
            inputWrapperOrder={["label", "input", "description", "error"]}
            w={230}
            {...form.getInputProps(`credentials.${i}.apiKey`)}
          />
          <NumberInput
            label={i === 0 ? "Weight" : undefined}
            aria-label={`Credential ${i + 1} weight`}
            min={1}
            max={1000}
            allowDecimal={false}
            w={90}
            {...form.getInputProps(`credentials.${i}.weight`)}
          />
          <NumberInput
            label={i === 0 ? "Requests/min" : undefined}
            aria-label={`Credential ${i + 1} requests per minute`}
            placeholder="no limit"
            min={1}
            allowDecimal={false}
            w={120}
            {...form.getInputProps(`credentials.${i}.rpm`)}
          />
          <TextInput
            label={i === 0 ? "Endpoint (optional)" : undefined}
            aria-label={`Credential ${i + 1} endpoint`}
            placeholder={azure ? "https://my-resource-westeurope.openai.azure.com" : "the provider's base URL"}
            style={{ flex: 1, minWidth: 200 }}
            {...form.getInputProps(`credentials.${i}.baseUrl`)}
          />
          <ActionIcon
            variant="subtle"
            color="red"
            aria-label={`Remove credential ${i + 1}`}
            onClick={() => form.removeListItem("credentials", i)}
            mt={i === 0 ? 30 : 6}
          >
            ×
          </ActionIcon>
        </Group>
      ))}
      <Button variant="subtle" size="xs" w="fit-content" onClick={add}>
        Add credential
      </Button>
    </Stack>
  );
}
