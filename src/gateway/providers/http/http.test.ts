/**
 * The shared HTTP layer: upstream error helpers and the postJson transport against a local server.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { describe, expect, it } from "vitest";
import { extractUpstreamError, httpError, parseRetryAfter, postJson, safeExtraHeaders, scrubSecret } from "./index.js";

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
    expect(extractUpstreamError('{"error":{"message":"m1","type":"server_error"}}')).toMatchObject({
      message: "m1",
      code: "server_error",
    });
    expect(extractUpstreamError('{"type":"error","error":{"type":"overloaded_error","message":"m2"}}')).toMatchObject({
      message: "m2",
      code: "overloaded_error",
    });
    const g =
      '[{"error":{"code":429,"message":"m3","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}]';
    expect(extractUpstreamError(g)).toMatchObject({ message: "m3", code: "RESOURCE_EXHAUSTED", retryDelayMs: 12_000 });
    expect(extractUpstreamError('{"detail":"vllm says no"}')).toMatchObject({ message: "vllm says no" });
    expect(extractUpstreamError("<html>502</html>")).toEqual({});
    expect(httpError("gemini", 429, {}, g).retryAfterMs).toBe(12_000);
  });

  it("scrubs the key and masked fragments of it", () => {
    const key = "sk-proj-ABCDEFGHIJKLMNOP1234";
    expect(scrubSecret(`bad key ${key} given`, key)).toBe("bad key [redacted] given");
    expect(scrubSecret("Incorrect API key provided: sk-proj-********************MNOP1234.", key)).not.toContain(
      "MNOP1234",
    );
    const e = httpError(
      "openai",
      401,
      {},
      JSON.stringify({ error: { message: `Incorrect API key provided: ${key}` } }),
      key,
    );
    expect(e.message).not.toContain(key);
    expect(e.retryable).toBe(false);
  });

  it("drops extra headers that would override auth, framing or inject lines", () => {
    expect(
      safeExtraHeaders({
        "X-Org": "a",
        Authorization: "x",
        host: "evil",
        "x-bad": "a\r\nb",
        "content-length": "1",
        "HTTP-Referer": "r",
      }),
    ).toEqual({ "x-org": "a", "http-referer": "r" });
  });
});

describe("postJson transport", () => {
  const timeouts = { connectMs: 2_000, firstByteMs: 2_000, idleMs: 2_000, totalMs: 10_000 };
  async function withServer(handler: http.RequestListener, fn: (url: string) => Promise<void>) {
    const server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x?y=1`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  it("a body larger than the buffer arrives whole and in order to a slow reader (reading pauses the socket past the high-water mark)", async () => {
    const chunk = Buffer.alloc(64 * 1024);
    const total = 64; // 4 MiB, well past the high-water mark
    let received = "";
    const sent = createHash("sha256");
    await withServer(
      (req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "application/octet-stream" });
        let i = 0;
        const write = () => {
          while (i < total) {
            chunk.fill(i % 251);
            const part = Buffer.from(chunk);
            sent.update(part);
            const ok = res.write(part);
            i++;
            if (!ok) return res.once("drain", write);
          }
          res.end();
        };
        write();
      },
      async (url) => {
        const agent = new Agent();
        const call = await postJson({
          url,
          headers: { "content-type": "application/json" },
          body: { a: 1 },
          opts: { signal: new AbortController().signal, dispatcher: agent, timeouts },
          label: "test",
        });
        let size = 0;
        const got = createHash("sha256");
        for await (const c of call.chunks()) {
          got.update(c);
          size += c.length;
          await new Promise((r) => setTimeout(r, 1));
        }
        received = `${size}:${got.digest("hex")}`;
        await agent.close();
      },
    );
    expect(received).toBe(`${64 * 64 * 1024}:${sent.digest("hex")}`);
  });

  it("close() mid-body aborts the upstream request (the server sees the connection close)", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    await withServer(
      (req, res) => {
        req.resume();
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: 1\n\n");
        res.on("close", () => closed());
      },
      async (url) => {
        const agent = new Agent();
        const call = await postJson({
          url,
          headers: { "content-type": "application/json" },
          body: {},
          opts: { signal: new AbortController().signal, dispatcher: agent, timeouts },
          label: "test",
        });
        for await (const c of call.chunks()) {
          expect(c.toString()).toContain("data: 1");
          break;
        }
        await serverSawClose;
        await agent.close();
      },
    );
  });

  it("the request goes to the URL's path and query, with the JSON body", async () => {
    let seen = "";
    await withServer(
      (req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          seen = `${req.method} ${req.url} ${body}`;
          res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
        });
      },
      async (url) => {
        const agent = new Agent();
        const call = await postJson({
          url,
          headers: { "content-type": "application/json" },
          body: { a: [1, "b"] },
          opts: { signal: new AbortController().signal, dispatcher: agent, timeouts },
          label: "test",
        });
        expect(await call.json()).toEqual({ ok: true });
        await agent.close();
      },
    );
    expect(seen).toBe('POST /v1/x?y=1 {"a":[1,"b"]}');
  });
});
