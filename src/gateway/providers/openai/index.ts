/**
 * OpenAI: the built-in provider and the `openai` wire format (Chat Completions,
 * Embeddings, Images, Audio, Moderations), which also serves every
 * OpenAI-compatible custom provider.
 */
import type { ProviderDescriptor } from "../descriptor.js";
import { createOpenAIAdapter } from "./adapter.js";

export { createOpenAIAdapter } from "./adapter.js";

/**
 * A high-detail image is scaled to fit 2048×2048 then 768 px on its short side, at most
 * 8 tiles of 512 px: 85 + 170 × 8 = 1,445 tokens on gpt-4o-class models, 2,833 + 5,667 × 8
 * = 48,169 on gpt-4o-mini; patch-based models cap at 1,536 patches × up to 2.46 ≈ 3,779.
 * 10,000 bounds every one but gpt-4o-mini.
 */
export const openaiImageTokenCeiling = (model: string): number => (/^gpt-4o-mini/.test(model) ? 48_169 : 10_000);

export const openai: ProviderDescriptor = {
  id: "openai",
  name: "OpenAI",
  createAdapter: () => createOpenAIAdapter(),
  defaultBaseUrl: "https://api.openai.com/v1",
  configKey: "openai",
  models: {
    kind: "library",
    libraryProviderId: "openai",
    featured: [
      "gpt-4o",
      "gpt-4o-mini",
      "gpt-4.1",
      "gpt-4.1-mini",
      "o3-mini",
      "text-embedding-3-small",
      "text-embedding-3-large",
    ],
    // Legacy completions, speech, transcription, image generation, realtime, moderation, the
    // Responses-only models (pro, deep research, codex, computer use), open weights it does not
    // host, fine-tune name patterns and other hosts' variants ("gpt-4o:extended").
    notServed:
      /^(ada|babbage|curie|davinci|text-davinci-\d+)$|instruct|^ft:|\.ft-|:|computer-use|codex|deep-research|-pro($|-)|^gpt-oss|transcribe|tts|whisper|moderation|realtime|image/,
  },
  bareModels:
    /^(gpt-|o[1-9](-|$)|chatgpt-|text-embedding-3|text-embedding-ada|davinci|babbage|dall-e-|whisper-|tts-|omni-moderation|text-moderation)/,
  imageTokenCeiling: openaiImageTokenCeiling,
};
