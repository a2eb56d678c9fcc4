/**
 * Adapter registry: one adapter per wire format. Built-in providers and
 * custom providers (format openai|anthropic|gemini) resolve to these; the
 * pipeline supplies the UpstreamTarget (base URL, key, headers, model).
 */
import { createAnthropicAdapter } from "./anthropic.js";
import { createGeminiAdapter } from "./gemini.js";
import { createMockAdapter } from "./mock.js";
import { createOpenAIAdapter, type OpenAIAdapterOptions } from "./openai.js";
import type { ProviderAdapter, ProviderFormat } from "./types.js";

export * from "./types.js";
export {
  createAnthropicAdapter,
  createGeminiAdapter,
  createMockAdapter,
  createOpenAIAdapter,
  type OpenAIAdapterOptions,
};

export const DEFAULT_BASE_URLS = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  gemini: "https://generativelanguage.googleapis.com",
} as const;

export function createAdapters(opts: { mockChunkDelayMs?: number } = {}): Record<ProviderFormat, ProviderAdapter> {
  return {
    openai: createOpenAIAdapter(),
    anthropic: createAnthropicAdapter(),
    gemini: createGeminiAdapter(),
    mock: createMockAdapter({ chunkDelayMs: opts.mockChunkDelayMs }),
  };
}
