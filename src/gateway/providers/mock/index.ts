/**
 * The built-in `mock` provider: no account, no network, always offered, so
 * Tollgate can be tried (and its test suites billed) without any provider.
 */
import type { ModelInfo } from "../descriptor.js";
import type { PriceInfo } from "../../hooks.js";
import type { ProviderDescriptor } from "../descriptor.js";
import { openaiImageTokenCeiling } from "../openai/index.js";
import { createMockAdapter } from "./adapter.js";

export { createMockAdapter } from "./adapter.js";

const FREE: PriceInfo = { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n };

/** The mock provider's models: free (the operator may price them in TOLLGATE_PRICE_OVERRIDES to try billing). */
export const MOCK_MODELS: ModelInfo[] = [
  { id: "echo", contextWindow: 128_000, maxOutputTokens: 4096, prices: FREE },
  { id: "lorem", contextWindow: 128_000, maxOutputTokens: 4096, prices: FREE },
  { id: "embed", contextWindow: 8192, prices: FREE, embeddings: true },
  // Images, transcription, speech and moderation (providers/mock/media.ts).
  { id: "image", prices: FREE },
  { id: "transcribe", prices: FREE },
  { id: "speech", prices: FREE },
  { id: "moderation", prices: FREE },
];

export const mock: ProviderDescriptor = {
  id: "mock",
  name: "Mock (no account needed)",
  createAdapter: (settings) => createMockAdapter({ chunkDelayMs: settings.mockChunkDelayMs }),
  defaultBaseUrl: "mock://local",
  models: { kind: "fixed", models: MOCK_MODELS },
  // It answers in OpenAI's shapes, and bounds an image as OpenAI does.
  imageTokenCeiling: openaiImageTokenCeiling,
};
