/**
 * Azure OpenAI: the `azure` wire format (an organization's custom provider of
 * that format) and the built-in `azure` provider the operator configures from
 * AZURE_OPENAI_* (catalog.ts). Its models are deployments the operator or the
 * organization names, priced (built-in) as the OpenAI models of the same name.
 */
import type { ProviderDescriptor } from "../descriptor.js";
import { openaiImageTokenCeiling } from "../openai/index.js";
import { createAzureAdapter } from "./adapter.js";

export const azure: ProviderDescriptor = {
  id: "azure",
  name: "Azure OpenAI",
  createAdapter: () => createAzureAdapter(),
  // Every resource has its own endpoint: the built-in provider is offered only once one is configured.
  defaultBaseUrl: "",
  configKey: "azure",
  models: { kind: "deployments", pricedAs: "openai" },
  // Azure hosts OpenAI's models, which bound an image as OpenAI's do.
  imageTokenCeiling: openaiImageTokenCeiling,
};
