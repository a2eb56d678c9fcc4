/**
 * Usage of OpenAI Responses answers, on payloads shaped like its real reports:
 * cached and reasoning parts within their totals, one billed web search per
 * web_search_call whose action is a search, one file search per
 * file_search_call; absent components leave no key (toStrictEqual). And the
 * classification of a failed response's error code.
 */
import { describe, expect, it } from "vitest";
import { responsesError, usageFromResponses } from "./responses.js";

const usage = (over: Record<string, unknown> = {}) => ({
  input_tokens: 1200,
  input_tokens_details: { cached_tokens: 1024 },
  output_tokens: 300,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 1500,
  ...over,
});

describe("usageFromResponses", () => {
  it("reads input with its cached part and output (gpt-4.1)", () => {
    expect(usageFromResponses({ usage: usage(), output: [] })).toStrictEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 300,
    });
  });

  it("reads reasoning as a part of output_tokens (o-series, gpt-5)", () => {
    const u = usage({ output_tokens: 1890, output_tokens_details: { reasoning_tokens: 1536 } });
    expect(usageFromResponses({ usage: u })).toStrictEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 1890,
      reasoningTokens: 1536,
    });
  });

  it("clamps parts to their totals and ignores junk", () => {
    const u = {
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 50 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 9 },
    };
    expect(usageFromResponses({ usage: u })).toStrictEqual({
      inputTokens: 10,
      cachedInputTokens: 10,
      outputTokens: 5,
      reasoningTokens: 5,
    });
    expect(usageFromResponses({ usage: { input_tokens: -3, output_tokens: "7" } })).toStrictEqual({
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
    });
    expect(usageFromResponses({ usage: null, output: [{ type: "web_search_call" }] })).toBeUndefined();
    expect(usageFromResponses({})).toBeUndefined();
  });

  it("counts one web search per web_search_call that searched; opening or scanning a page is free", () => {
    const output = [
      {
        type: "web_search_call",
        id: "ws_1",
        status: "completed",
        action: { type: "search", query: "weather paris", sources: [{ type: "url", url: "https://a" }] },
      },
      { type: "web_search_call", id: "ws_2", status: "completed", action: { type: "search", queries: ["b", "c"] } },
      { type: "web_search_call", id: "ws_3", status: "completed", action: { type: "open_page", url: "https://a" } },
      {
        type: "web_search_call",
        id: "ws_4",
        status: "completed",
        action: { type: "find_in_page", url: "https://a", pattern: "x" },
      },
      // Reported without an action (older snapshots): billed once it completed.
      { type: "web_search_call", id: "ws_5", status: "completed" },
      { type: "web_search_call", id: "ws_6", status: "failed" },
      { type: "message", id: "msg_1", role: "assistant", content: [] },
      null,
    ];
    expect(usageFromResponses({ usage: usage(), output })).toStrictEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 300,
      webSearches: 3,
    });
  });

  it("counts one file search per file_search_call", () => {
    const output = [
      { type: "file_search_call", id: "fs_1", status: "completed", queries: ["refund policy"], results: null },
      { type: "file_search_call", id: "fs_2", status: "completed", queries: ["shipping"] },
      { type: "message", id: "msg_1", role: "assistant", content: [] },
    ];
    expect(usageFromResponses({ usage: usage(), output })).toStrictEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 300,
      fileSearches: 2,
    });
  });
});

describe("responsesError", () => {
  it("classifies a failed response's code like the HTTP status OpenAI gives it, key scrubbed", () => {
    const key = "sk-test-secret-0123456789";
    const server = responsesError({ code: "server_error", message: `boom with ${key}` }, "openai", key);
    expect(server).toMatchObject({ kind: "http", status: 500, upstreamCode: "server_error", retryable: true });
    expect(server.message).not.toContain(key);
    expect(responsesError({ code: "rate_limit_exceeded", message: "slow down" }, "openai")).toMatchObject({
      status: 429,
      retryable: true,
    });
    expect(responsesError({ code: "invalid_prompt", message: "no" }, "openai")).toMatchObject({
      status: 400,
      retryable: false,
    });
    expect(responsesError({ code: "image_too_large", message: "big" }, "openai").status).toBe(400);
    expect(responsesError({ code: "vector_store_timeout", message: "slow" }, "openai").status).toBe(504);
    expect(responsesError(null, "openai")).toMatchObject({ status: 500, upstreamCode: "server_error" });
  });
});
