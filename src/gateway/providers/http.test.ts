import { describe, expect, it } from "vitest";
import { extractUpstreamError, httpError, parseRetryAfter, safeExtraHeaders, scrubSecret } from "./http.js";

describe("upstream error helpers", () => {
  it("parses Retry-After seconds, HTTP dates and retry-after-ms", () => {
    expect(parseRetryAfter({ "retry-after": "7" })).toBe(7000);
    expect(parseRetryAfter({ "retry-after-ms": "1500", "retry-after": "9" })).toBe(1500);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" }, now)).toBe(30_000);
    expect(parseRetryAfter({ "retry-after": "soon" })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });

  it("reads the error text of each provider's shape, and Gemini's RetryInfo", () => {
    expect(extractUpstreamError('{"error":{"message":"m1","type":"server_error"}}')).toMatchObject({ message: "m1", code: "server_error" });
    expect(extractUpstreamError('{"type":"error","error":{"type":"overloaded_error","message":"m2"}}')).toMatchObject({ message: "m2", code: "overloaded_error" });
    const g = '[{"error":{"code":429,"message":"m3","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}]';
    expect(extractUpstreamError(g)).toMatchObject({ message: "m3", code: "RESOURCE_EXHAUSTED", retryDelayMs: 12_000 });
    expect(extractUpstreamError('{"detail":"vllm says no"}')).toMatchObject({ message: "vllm says no" });
    expect(extractUpstreamError("<html>502</html>")).toEqual({});
    expect(httpError("gemini", 429, {}, g).retryAfterMs).toBe(12_000);
  });

  it("scrubs the key and masked fragments of it", () => {
    const key = "sk-proj-ABCDEFGHIJKLMNOP1234";
    expect(scrubSecret(`bad key ${key} given`, key)).toBe("bad key [redacted] given");
    expect(scrubSecret("Incorrect API key provided: sk-proj-********************MNOP1234.", key)).not.toContain("MNOP1234");
    const e = httpError("openai", 401, {}, JSON.stringify({ error: { message: `Incorrect API key provided: ${key}` } }), key);
    expect(e.message).not.toContain(key);
    expect(e.retryable).toBe(false);
  });

  it("drops extra headers that would override auth, framing or inject lines", () => {
    expect(safeExtraHeaders({ "X-Org": "a", Authorization: "x", host: "evil", "x-bad": "a\r\nb", "content-length": "1", "HTTP-Referer": "r" }))
      .toEqual({ "x-org": "a", "http-referer": "r" });
  });
});
