/**
 * Usage reports shaped like the providers' real ones, with every component
 * set, and the Usage each must become: shared by the adapters' unit tests and
 * the end-to-end usage tests against the fakes.
 */
import type { Usage } from "../../src/gateway/types.js";

/** Anthropic: cache writes split 5m/1h, cache reads, web searches. */
export const ANTHROPIC_USAGE_REPORT = {
  input_tokens: 21,
  cache_creation_input_tokens: 3000,
  cache_read_input_tokens: 12000,
  cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
  output_tokens: 640,
  service_tier: "standard",
  server_tool_use: { web_search_requests: 2 },
};
export const ANTHROPIC_USAGE: Usage = {
  inputTokens: 15021,
  cachedInputTokens: 12000,
  outputTokens: 640,
  cacheWriteInputTokens: 3000,
  cacheWrite1hInputTokens: 2000,
  webSearches: 2,
};

/** Gemini: thoughts, audio and image input, cached audio. */
export const GEMINI_USAGE_METADATA = {
  promptTokenCount: 1650,
  candidatesTokenCount: 120,
  totalTokenCount: 2290,
  cachedContentTokenCount: 1024,
  promptTokensDetails: [
    { modality: "TEXT", tokenCount: 450 },
    { modality: "AUDIO", tokenCount: 960 },
    { modality: "IMAGE", tokenCount: 240 },
  ],
  cacheTokensDetails: [
    { modality: "TEXT", tokenCount: 300 },
    { modality: "AUDIO", tokenCount: 724 },
  ],
  candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 120 }],
  thoughtsTokenCount: 520,
};
export const GEMINI_USAGE: Usage = {
  inputTokens: 1650,
  cachedInputTokens: 1024,
  outputTokens: 640,
  audioInputTokens: 960,
  cachedAudioInputTokens: 724,
  imageInputTokens: 240,
  reasoningTokens: 520,
};
