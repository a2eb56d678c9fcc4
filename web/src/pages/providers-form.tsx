/**
 * The add / edit dialog of an organization's custom provider: name, slug, API
 * format, base URL (an Azure OpenAI resource's endpoint), key, and the models
 * with their prices. For the Azure OpenAI format it also takes the API version
 * and, per model, the deployment that serves it (empty: a deployment of the
 * model's own name). The key is sent only when typed (editing keeps the stored
 * one); Azure settings are sent only for the Azure format. The Google Vertex
 * AI format takes a project, a location and a service account key instead of a
 * base URL and an API key (providers-form-vertex.tsx); Amazon Bedrock a region
 * and AWS credentials (providers-form-bedrock.tsx). The formats whose
 * credential is an API key may have several instead
 * (providers-credentials.tsx). Adding a provider starts in
 * providers-presets.tsx, which shows this form for a custom provider.
 */
import { ActionIcon, Button, Group, Modal, PasswordInput, Select, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { AZURE_DEFAULT_API_VERSION } from "../../../src/config-azure";
import { api, formErrors, orgUrl, type Provider } from "../api";
import {
  type CredentialRow,
  CredentialsFields,
  credentialErrorFields,
  credentialsBody,
  credentialsInitialValues,
  credentialsValidate,
  takesCredentials,
} from "./providers-credentials";
import { BedrockFields, bedrockBody, bedrockInitialValues, bedrockValidate } from "./providers-form-bedrock";
import { VertexFields, vertexBody, vertexInitialValues } from "./providers-form-vertex";

interface ModelRow {
  id: string;
  inputPricePerMillion: string;
  cachedInputPricePerMillion: string;
  outputPricePerMillion: string;
  contextWindow: number | "";
  /** Azure OpenAI only: the deployment serving the model ("" = the model's own name). */
  deployment: string;
}

const emptyModel = (): ModelRow => ({
  id: "",
  inputPricePerMillion: "",
  cachedInputPricePerMillion: "",
  outputPricePerMillion: "",
  contextWindow: "",
  deployment: "",
});

const FORMATS = [
  { value: "openai", label: "OpenAI-compatible" },
  { value: "anthropic", label: "Anthropic" },
  { value: "gemini", label: "Google Gemini" },
  { value: "azure", label: "Azure OpenAI" },
  { value: "vertex", label: "Google Vertex AI" },
  { value: "bedrock", label: "Amazon Bedrock" },
];

interface FormProps {
  org: string;
  provider: Provider | null;
  onClose: () => void;
}

export function ProviderModal(props: FormProps) {
  return (
    <Modal
      opened
      onClose={props.onClose}
      title={props.provider ? `Edit ${props.provider.name}` : "Add provider"}
      size="xl"
    >
      <ProviderForm {...props} />
    </Modal>
  );
}

/** The dialog's form (also the custom provider's part of the "Add provider" dialog). */
export function ProviderForm({ org, provider, onClose }: FormProps) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const { vertexBaseUrl, ...vertexValues } = vertexInitialValues(provider);
  const { bedrockBaseUrl, ...bedrockValues } = bedrockInitialValues(provider);
  const form = useForm({
    initialValues: {
      name: provider?.name ?? "",
      slug: provider?.slug ?? "",
      format: provider?.format ?? "openai",
      baseUrl:
        provider?.format === "vertex"
          ? vertexBaseUrl
          : provider?.format === "bedrock"
            ? bedrockBaseUrl
            : (provider?.baseUrl ?? ""),
      apiKey: "",
      credentials: credentialsInitialValues(provider),
      ...vertexValues,
      ...bedrockValues,
      apiVersion: provider?.apiVersion ?? "",
      models: provider
        ? provider.models.map(
            (m): ModelRow => ({
              id: m.id,
              inputPricePerMillion: m.inputPricePerMillionUsd,
              cachedInputPricePerMillion: m.cachedInputPricePerMillionUsd,
              outputPricePerMillion: m.outputPricePerMillionUsd,
              contextWindow: m.contextWindow ?? "",
              deployment: provider.deployments?.[m.id] ?? "",
            }),
          )
        : [emptyModel()],
    },
    validate: {
      ...credentialsValidate(provider),
      name: (v) => (v.trim() ? null : "Name is required."),
      baseUrl: (v, values) =>
        /^https?:\/\/\S+$/.test(v) || ((values.format === "vertex" || values.format === "bedrock") && !v.trim())
          ? null
          : values.format === "azure"
            ? "Enter the resource's endpoint, e.g. https://my-resource.openai.azure.com"
            : "Enter the API's base URL, e.g. https://api.example.com/v1",
      project: (v, values) => (values.format !== "vertex" || v.trim() ? null : "Project is required."),
      region: bedrockValidate.region,
      accessKeyId: bedrockValidate.accessKeyId,
      secretAccessKey: (v, values) => bedrockValidate.secretAccessKey(v, values, provider),
    },
  });
  const azure = form.values.format === "azure";
  const vertex = form.values.format === "vertex";
  const bedrock = form.values.format === "bedrock";
  const save = useMutation({
    mutationFn: (v: typeof form.values) => {
      const rows = v.models.filter((m: ModelRow) => m.id.trim());
      const models = rows.map((m: ModelRow) => ({
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
      if (v.format === "azure") {
        body.deployments = Object.fromEntries(
          rows.filter((m) => m.deployment.trim()).map((m) => [m.id.trim(), m.deployment.trim()]),
        );
        if (v.apiVersion.trim()) body.apiVersion = v.apiVersion.trim();
      }
      if (v.format === "vertex") {
        delete body.baseUrl;
        Object.assign(body, vertexBody(v, provider));
      }
      if (v.format === "bedrock") {
        delete body.baseUrl;
        Object.assign(body, bedrockBody(v, provider));
      }
      if (v.slug.trim() && v.slug !== provider?.slug) body.slug = v.slug.trim();
      const credentials: CredentialRow[] = takesCredentials(v.format) ? v.credentials : [];
      if (credentials.length) body.credentials = credentialsBody(credentials);
      else if (v.format !== "vertex" && v.format !== "bedrock" && (!provider || v.apiKey)) body.apiKey = v.apiKey;
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
      const e = formErrors(err, [
        "name",
        "slug",
        "format",
        "baseUrl",
        "apiKey",
        "apiVersion",
        "models",
        "project",
        "location",
        "serviceAccountJson",
        "tokenUrl",
        "region",
        "accessKeyId",
        "secretAccessKey",
        "sessionToken",
        "credentials",
        ...credentialErrorFields(form.values.credentials.length),
      ]);
      form.setErrors(e.fields);
      setGeneral(
        e.general ??
          (e.fields.models
            ? `Models: ${e.fields.models}`
            : e.fields.credentials
              ? `Credentials: ${e.fields.credentials}`
              : null),
      );
    },
  });
  const several = takesCredentials(form.values.format) && form.values.credentials.length > 0;
  return (
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
          <Select label="API format" data={FORMATS} allowDeselect={false} {...form.getInputProps("format")} />
          {vertex || bedrock ? null : azure ? (
            <TextInput
              label="Endpoint"
              placeholder="https://my-resource.openai.azure.com"
              description="Keys and Endpoint page of the resource in the Azure portal."
              required
              {...form.getInputProps("baseUrl")}
            />
          ) : (
            <TextInput
              label="Base URL"
              placeholder="https://api.example.com/v1"
              required
              {...form.getInputProps("baseUrl")}
            />
          )}
        </Group>
        {vertex && <VertexFields form={form} provider={provider} />}
        {bedrock && <BedrockFields form={form} provider={provider} />}
        <Group grow align="flex-start" display={vertex || bedrock || (several && !azure) ? "none" : undefined}>
          {!several && (
            <PasswordInput
              label="API key"
              description={
                provider?.credentials?.length && takesCredentials(form.values.format)
                  ? "One key in place of the credentials. Stored encrypted; never shown again."
                  : provider
                    ? `Stored encrypted (${provider.apiKeyHint || "none"}). Leave empty to keep it.`
                    : azure
                      ? "KEY 1 or KEY 2 of the resource. Stored encrypted; never shown again."
                      : "Stored encrypted; never shown again."
              }
              {...form.getInputProps("apiKey")}
            />
          )}
          {azure && (
            <TextInput
              label="API version"
              placeholder={AZURE_DEFAULT_API_VERSION}
              description={`Leave empty for ${AZURE_DEFAULT_API_VERSION} (generally available).`}
              {...form.getInputProps("apiVersion")}
            />
          )}
        </Group>
        {takesCredentials(form.values.format) && <CredentialsFields form={form} provider={provider} />}
        <Text fw={600} size="sm">
          {azure
            ? "Models, their deployments and prices (USD per million tokens)"
            : "Models and prices (USD per million tokens)"}
        </Text>
        {form.values.models.map((_m: ModelRow, i: number) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity; each input is controlled by form.values at its index, so after a removal every row shows its own values
          <Group key={i} align="flex-end" gap="xs" wrap="wrap">
            <TextInput
              label={i === 0 ? "Model id" : undefined}
              aria-label="Model id"
              placeholder={azure ? "gpt-4o" : "llama-3-70b"}
              w={200}
              {...form.getInputProps(`models.${i}.id`)}
            />
            {azure && (
              <TextInput
                label={i === 0 ? "Deployment" : undefined}
                aria-label="Deployment"
                placeholder="same as the model"
                w={170}
                {...form.getInputProps(`models.${i}.deployment`)}
              />
            )}
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
        <Button variant="subtle" size="xs" w="fit-content" onClick={() => form.insertListItem("models", emptyModel())}>
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
  );
}
