/**
 * Converse usage → canonical usage. Bedrock reports `inputTokens` without the
 * prompt cache (its totalTokens = inputTokens + outputTokens + cacheRead +
 * cacheWrite, as Anthropic's input_tokens): canonical input is their sum, with
 * the cache reads as cachedInputTokens and the writes as cacheWriteInputTokens.
 * Malformed counts read as 0; a report without usage is undefined.
 */
import type { Usage } from "../../types.js";

/** The TokenUsage object of a Converse answer or a stream's metadata event. */
export interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

export function usageFromBedrock(u: ConverseUsage | undefined): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const read = count(u.cacheReadInputTokens);
  const write = count(u.cacheWriteInputTokens);
  const usage: Usage = {
    inputTokens: count(u.inputTokens) + read + write,
    cachedInputTokens: read,
    outputTokens: count(u.outputTokens),
  };
  if (write) usage.cacheWriteInputTokens = write;
  return usage;
}
