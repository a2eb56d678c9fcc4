/**
 * Anthropic usage extraction on payloads shaped like its real reports: every
 * component lands in its own field, parts never exceed their totals, and
 * absent/zero components leave no key behind (toStrictEqual).
 */
import { describe, expect, it } from "vitest";
import { ANTHROPIC_USAGE, ANTHROPIC_USAGE_REPORT } from "../../../../test/fakes/usage-reports.js";
import { mergeAnthropicUsage, usageFromAnthropic } from "./usage.js";

describe("Anthropic usage", () => {
  const report = ANTHROPIC_USAGE_REPORT;
  const expected = ANTHROPIC_USAGE;

  it("adds cache reads and writes to input, splits the 1h writes, counts web searches", () => {
    expect(usageFromAnthropic(report)).toStrictEqual(expected);
  });

  it("leaves zero components out", () => {
    const u = usageFromAnthropic({
      input_tokens: 25,
      output_tokens: 9,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      server_tool_use: { web_search_requests: 0 },
    });
    expect(u).toStrictEqual({ inputTokens: 25, cachedInputTokens: 0, outputTokens: 9 });
  });

  it("takes the write total from the breakdown alone, and clamps the 1h part to the total", () => {
    expect(
      usageFromAnthropic({
        input_tokens: 5,
        output_tokens: 1,
        cache_creation: { ephemeral_5m_input_tokens: 30, ephemeral_1h_input_tokens: 70 },
      }),
    ).toStrictEqual({
      inputTokens: 105,
      cachedInputTokens: 0,
      outputTokens: 1,
      cacheWriteInputTokens: 100,
      cacheWrite1hInputTokens: 70,
    });
    expect(
      usageFromAnthropic({
        input_tokens: 0,
        output_tokens: 0,
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_1h_input_tokens: 80 },
      }),
    ).toStrictEqual({
      inputTokens: 50,
      cachedInputTokens: 0,
      outputTokens: 0,
      cacheWriteInputTokens: 50,
      cacheWrite1hInputTokens: 50,
    });
  });

  it("ignores non-numbers and negatives", () => {
    const u = usageFromAnthropic({
      input_tokens: "7",
      output_tokens: -2,
      cache_read_input_tokens: null,
      cache_creation: null,
      server_tool_use: { web_search_requests: NaN },
    } as never);
    expect(u).toStrictEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
    expect(usageFromAnthropic(undefined)).toStrictEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
  });

  it("merges message_start and the cumulative message_delta, nested breakdowns included", () => {
    const start = {
      input_tokens: 21,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 12000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 1,
      service_tier: "standard",
    };
    const raw = mergeAnthropicUsage({}, start);
    expect(usageFromAnthropic(raw)).toStrictEqual({
      inputTokens: 15021,
      cachedInputTokens: 12000,
      outputTokens: 1,
      cacheWriteInputTokens: 3000,
      cacheWrite1hInputTokens: 2000,
    });
    mergeAnthropicUsage(raw, {
      input_tokens: null,
      cache_creation_input_tokens: null,
      output_tokens: 640,
      cache_creation: { ephemeral_5m_input_tokens: null },
      server_tool_use: { web_search_requests: 2 },
    });
    expect(usageFromAnthropic(raw)).toStrictEqual(expected);
    expect(start.cache_creation).toEqual({ ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 });
    mergeAnthropicUsage(raw, undefined);
    mergeAnthropicUsage(raw, { server_tool_use: { web_search_requests: 3 }, output_tokens: 700 });
    expect(usageFromAnthropic(raw)).toMatchObject({ outputTokens: 700, webSearches: 3, cacheWrite1hInputTokens: 2000 });
  });
});
