/**
 * Every provider's descriptor, in the order built-in providers are listed.
 * The catalog, the token bounds and the adapter set read provider facts from
 * here, never from switches on a provider name.
 */
import { anthropic } from "./anthropic/index.js";
import { azure } from "./azure/index.js";
import { bedrock } from "./bedrock/index.js";
import type { ProviderDescriptor } from "./descriptor.js";
import { gemini } from "./gemini/index.js";
import { mock } from "./mock/index.js";
import { openai } from "./openai/index.js";
import { vertex } from "./vertex/index.js";

export const PROVIDERS: readonly ProviderDescriptor[] = [openai, anthropic, gemini, azure, vertex, bedrock, mock];

const byId = new Map<string, ProviderDescriptor>(PROVIDERS.map((d) => [d.id, d]));

/** The descriptor of a built-in provider slug or wire format; undefined for anything else. */
export function providerDescriptor(id: string): ProviderDescriptor | undefined {
  return byId.get(id);
}

/** The descriptor of a wire format; a format the registry does not know is taken as OpenAI-compatible. */
export function formatDescriptor(format: string): ProviderDescriptor {
  return byId.get(format) ?? openai;
}
