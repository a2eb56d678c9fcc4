/**
 * Amazon Bedrock: the `bedrock` wire format (Converse and ConverseStream for
 * chat, InvokeModel for Titan and Cohere embeddings), signed with AWS
 * Signature Version 4, for an organization's custom provider of that format
 * (region, access key id, secret access key, session token) and the built-in
 * `bedrock` provider the operator configures from the standard AWS_*
 * variables (catalog.ts). A target carries its region and credentials in
 * `bedrock` (settings.ts); `bedrockTarget` builds one from a configuration.
 * Built-in, its models are the price library's `aws` models, priced there.
 */
import type { ProviderDescriptor } from "../descriptor.js";
import { createBedrockAdapter } from "./adapter.js";

export { createBedrockAdapter } from "./adapter.js";
export {
  bedrockBaseUrl,
  bedrockTarget,
  isBedrockRegion,
  type BedrockSettings,
  type BedrockTarget,
  type BedrockUpstreamTarget,
} from "./settings.js";

export const bedrock: ProviderDescriptor = {
  id: "bedrock",
  name: "Amazon Bedrock",
  createAdapter: () => createBedrockAdapter(),
  // Every region has its own endpoint (config-bedrock.ts bedrockBaseUrl); offered only once configured.
  defaultBaseUrl: "",
  configKey: "bedrock",
  models: {
    kind: "library",
    libraryProviderId: "aws",
    featured: [
      "anthropic.claude-3-5-sonnet-20240620-v1:0",
      "amazon.nova-pro-v1:0",
      "amazon.nova-lite-v1:0",
      "meta.llama3-1-70b-instruct-v1:0",
      "amazon.titan-embed-text-v2:0",
    ],
    // The library's `regional.*` ids are its own grouping of the regional inference profiles
    // (`us.`, `eu.`, `apac.`…), not ids Bedrock serves; speech-to-speech models are not chat.
    notServed: /^regional\.|sonic/,
  },
  // Claude on Bedrock bounds an image as Anthropic's API does (about 1,600 tokens at most); Nova and Llama below.
  imageTokenCeiling: () => 5_000,
};
