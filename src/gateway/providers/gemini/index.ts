/**
 * Google Gemini: the built-in provider and the `gemini` wire format
 * (generateContent and batchEmbedContents).
 */
import type { ProviderDescriptor } from "../descriptor.js";
import { createGeminiAdapter } from "./adapter.js";

export { createGeminiAdapter } from "./adapter.js";

export const gemini: ProviderDescriptor = {
  id: "gemini",
  name: "Google Gemini",
  createAdapter: () => createGeminiAdapter(),
  defaultBaseUrl: "https://generativelanguage.googleapis.com",
  configKey: "gemini",
  models: {
    kind: "library",
    libraryProviderId: "google",
    featured: ["gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"],
    // Vertex-only partner and MaaS models, speech, live sessions, image and video generation,
    // and other hosts' variants.
    notServed: /^claude-|-maas$|tts|live|image|omni|:/,
  },
  bareModels: /^(gemini-|text-embedding-004|gemma-)/,
  // 258 tokens per 768 px tile, up to 1,120 (or 2,240 at the highest media resolution) per
  // image on newer models.
  imageTokenCeiling: () => 3_000,
};
