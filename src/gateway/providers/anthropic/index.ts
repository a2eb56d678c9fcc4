/**
 * Anthropic: the built-in provider and the `anthropic` wire format (Messages API).
 */
import type { ProviderDescriptor } from "../descriptor.js";
import { createAnthropicAdapter } from "./adapter.js";
import { ANTHROPIC_DEFAULT_MAX_TOKENS } from "./request.js";

export { createAnthropicAdapter } from "./adapter.js";
export { toAnthropicRequest } from "./request.js";

export const anthropic: ProviderDescriptor = {
  id: "anthropic",
  name: "Anthropic",
  createAdapter: () => createAnthropicAdapter(),
  defaultBaseUrl: "https://api.anthropic.com",
  configKey: "anthropic",
  models: {
    kind: "library",
    libraryProviderId: "anthropic",
    featured: ["claude-3-5-haiku-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-0", "claude-opus-4-0"],
    // Other hosts' variants.
    notServed: /:/,
  },
  bareModels: /^claude-/,
  // About width × height / 750 after scaling to the long-edge limit: 5,000 bounds the largest
  // image any current model accepts.
  imageTokenCeiling: () => 5_000,
  // The adapter sends it when a request sets none (the Messages API requires one).
  defaultMaxOutputTokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
};
