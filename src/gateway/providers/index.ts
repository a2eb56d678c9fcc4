/**
 * The providers' public entry point: the adapter interface, one adapter per
 * wire format and the provider registry. Built-in providers and custom
 * providers (format openai|anthropic|gemini) resolve to the same adapters; the
 * pipeline supplies the UpstreamTarget (base URL, key, headers, model).
 */
import { anthropic } from "./anthropic/index.js";
import type { AdapterSettings } from "./descriptor.js";
import { gemini } from "./gemini/index.js";
import { openai } from "./openai/index.js";
import { PROVIDERS } from "./registry.js";
import type { ProviderAdapter, ProviderFormat } from "./types.js";

export * from "./types.js";
export type { AdapterSettings, FixedModels, LibraryModels, ProviderDescriptor } from "./descriptor.js";
export { formatDescriptor, providerDescriptor, PROVIDERS } from "./registry.js";
export { anthropic, createAnthropicAdapter } from "./anthropic/index.js";
export { createGeminiAdapter, gemini } from "./gemini/index.js";
export { createMockAdapter, mock } from "./mock/index.js";
export { createOpenAIAdapter, openai, type OpenAIAdapterOptions } from "./openai/index.js";

/** Each built-in provider's default base URL (the descriptors hold them). */
export const DEFAULT_BASE_URLS = {
  openai: openai.defaultBaseUrl,
  anthropic: anthropic.defaultBaseUrl,
  gemini: gemini.defaultBaseUrl,
} as const;

export function createAdapters(settings: AdapterSettings = {}): Record<ProviderFormat, ProviderAdapter> {
  return Object.fromEntries(PROVIDERS.map((d) => [d.id, d.createAdapter(settings)])) as Record<
    ProviderFormat,
    ProviderAdapter
  >;
}
