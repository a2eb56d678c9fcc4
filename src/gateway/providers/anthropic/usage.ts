/**
 * Anthropic usage → canonical usage. inputTokens = input_tokens + cache reads
 * + cache writes (Anthropic reports them apart; canonical input includes the
 * cached part); output includes thinking; server-side web searches are counted.
 */
import type { AUsage } from "../../formats/anthropic-wire.js";
import type { Usage } from "../../types.js";

/** The usage object as the API sends it, with the nested breakdowns the shared wire type leaves out. */
export type AnthropicUsage = Partial<AUsage> & {
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
  server_tool_use?: { web_search_requests?: number | null } | null;
};

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

export function usageFromAnthropic(u: AnthropicUsage | undefined): Usage {
  const read = count(u?.cache_read_input_tokens);
  const split = u?.cache_creation;
  const write1h = count(split?.ephemeral_1h_input_tokens);
  // The flat total wins; a report with only the breakdown still bills its writes.
  const write = count(u?.cache_creation_input_tokens) || count(split?.ephemeral_5m_input_tokens) + write1h;
  const usage: Usage = {
    inputTokens: count(u?.input_tokens) + read + write,
    cachedInputTokens: read,
    outputTokens: count(u?.output_tokens),
  };
  if (write) usage.cacheWriteInputTokens = write;
  if (write1h) usage.cacheWrite1hInputTokens = Math.min(write1h, write);
  const searches = count(u?.server_tool_use?.web_search_requests);
  if (searches) usage.webSearches = searches;
  return usage;
}

/**
 * Folds a stream's usage report into the running one. message_delta counts are
 * cumulative (they replace), and a null or absent field means "not reported"
 * (it keeps the message_start value); nested breakdowns merge field by field.
 */
export function mergeAnthropicUsage(into: AnthropicUsage, next: unknown, depth = 0): AnthropicUsage {
  if (!next || typeof next !== "object") return into;
  const target = into as Record<string, unknown>;
  for (const [k, v] of Object.entries(next)) {
    if (v == null || k === "__proto__") continue;
    const prev = target[k];
    if (depth === 0 && typeof v === "object" && prev && typeof prev === "object")
      mergeAnthropicUsage(prev as AnthropicUsage, v, 1);
    else target[k] = typeof v === "object" && depth === 0 ? mergeAnthropicUsage({}, v, 1) : v;
  }
  return into;
}
