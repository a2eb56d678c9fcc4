/**
 * Bad input on the gateway (reliability checklist D1–D4), over a real socket:
 * oversized bodies and lying Content-Length headers, malformed JSON, wrong
 * content types, prototype keys, pathological nesting, invalid UTF-8 and lone
 * surrogates. Each is refused with 4xx in the API's own error shape, before
 * any upstream call, and the process keeps serving.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";

const MODEL = "openai/gpt-4o-mini";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

describe(`gateway bad input (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let port: number;
  let key: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    t = await startTestApp({ env: { OPENAI_API_KEY: "sk-oa", OPENAI_BASE_URL: `${fake.url}/v1` } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    port = (t.app.server.server.address() as { port: number }).port;
    const owner = await t.signUp();
    const org = (await createOrg(owner)).slug;
    await grantCredits(t, org, "100"); // real-priced models on live keys are billed
    expect((await owner.post(`/api/v1/orgs/${org}/projects`, { name: "Input", slug: "input" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${org}/projects/input/keys`, { name: "k", environment: "live" })).body.key;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  /** POSTs raw bytes through fetch; returns status, headers and the body text. */
  async function post(path: string, body: string | Uint8Array, contentType = "application/json"): Promise<RawResponse> {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": contentType },
      body: typeof body === "string" ? body : new Uint8Array(body),
    });
    return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
  }

  /** Writes a hand-made HTTP/1.1 request on a socket; resolves with the first response (or rejects after `ms`). */
  function rawRequest(head: string, body: Uint8Array | string, ms = 5_000): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let buf = "";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no response within ${ms} ms`));
      }, ms);
      const finish = () => {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
        if (!m) return;
        const [h, ...rest] = buf.split("\r\n\r\n");
        const headers: Record<string, string> = {};
        for (const line of h!.split("\r\n").slice(1)) {
          const i = line.indexOf(":");
          headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
        }
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(m[1]), headers, text: rest.join("\r\n\r\n") });
      };
      socket.on("data", (d) => {
        buf += d.toString("latin1");
        // A complete JSON error body (content-length) is enough; we never wait for the whole upload.
        const len = /content-length: (\d+)/i.exec(buf);
        const sep = buf.indexOf("\r\n\r\n");
        if (len && sep >= 0 && buf.length - sep - 4 >= Number(len[1])) finish();
      });
      socket.on("error", () => finish());
      socket.on("close", () => finish());
      socket.write(head);
      socket.write(body);
    });
  }

  /** The error in OpenAI's shape; asserts the upstream saw nothing. */
  function openaiError(res: RawResponse, status: number, code?: string | RegExp) {
    expect(res.status, res.text).toBe(status);
    const body = JSON.parse(res.text) as { error: { message: string; type: string; code: string; param: unknown } };
    expect(body.error).toEqual(
      expect.objectContaining({ message: expect.any(String), type: expect.any(String), code: expect.any(String) }),
    );
    expect(body.error).toHaveProperty("param");
    if (code) expect(body.error.code).toMatch(code);
    return body.error;
  }

  const good = (content: unknown = "hi") => JSON.stringify({ model: MODEL, messages: [{ role: "user", content }] });

  async function noUpstream<T>(fn: () => Promise<T>): Promise<T> {
    const before = fake.requests.length;
    const out = await fn();
    expect(fake.requests.length).toBe(before);
    return out;
  }

  it("a body over 16 MiB gets 413 before any upstream call", async () => {
    const big = good("x".repeat(17 * 1024 * 1024));
    const res = await noUpstream(() => post("/v1/chat/completions", big).catch(() => null));
    // Either the 413 arrives, or the server cut the upload short; both refuse. Check the 413 on a socket too.
    if (res) openaiError(res, 413, "request_too_large");
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(big)}\r\n\r\n`;
    const raw = await noUpstream(() => rawRequest(head, big.slice(0, 64 * 1024)));
    openaiError(raw, 413, "request_too_large");
  });

  it("a 1 GB Content-Length with a small body is refused at once, no hang", async () => {
    const started = Date.now();
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${1024 ** 3}\r\n\r\n`;
    const res = await noUpstream(() => rawRequest(head, good(), 3_000));
    expect([400, 413]).toContain(res.status);
    openaiError(res, res.status);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a chunked body with no length is cut off at the limit", async () => {
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`;
    const chunk = "x".repeat(1024 * 1024);
    const body = `{"model":"${MODEL}","messages":[{"role":"user","content":"${chunk}`;
    let wire = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`;
    for (let i = 0; i < 17; i++) wire += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const res = await noUpstream(() => rawRequest(head, wire));
    openaiError(res, 413, "request_too_large");
  });

  it("truncated JSON → 400 invalid_json; text/plain and forms → 415", async () => {
    await noUpstream(async () => {
      openaiError(await post("/v1/chat/completions", good().slice(0, -5)), 400, "invalid_json");
      openaiError(await post("/v1/chat/completions", "", "application/json"), 400, "invalid_json");
      openaiError(await post("/v1/chat/completions", good(), "text/plain"), 415, "unsupported_media_type");
      openaiError(
        await post("/v1/chat/completions", "model=x", "application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
      );
    });
  });

  it("prototype keys are refused, at the top and nested", async () => {
    await noUpstream(async () => {
      openaiError(
        await post(
          "/v1/chat/completions",
          `{"__proto__":{"isAdmin":true},"model":"${MODEL}","messages":[{"role":"user","content":"x"}]}`,
        ),
        400,
      );
      openaiError(
        await post(
          "/v1/chat/completions",
          `{"model":"${MODEL}","messages":[{"role":"user","content":"x","__proto__":{"x":1}}]}`,
        ),
        400,
      );
      openaiError(
        await post(
          "/v1/chat/completions",
          `{"model":"${MODEL}","constructor":{"prototype":{"x":1}},"messages":[{"role":"user","content":"x"}]}`,
        ),
        400,
      );
    });
  });

  it.each([10_000, 100_000])("content nested %i levels deep → 400, and the process keeps serving", async (depth) => {
    const nested = `${"[".repeat(depth)}"deep"${"]".repeat(depth)}`;
    const body = `{"model":"${MODEL}","messages":[{"role":"user","content":${nested}}]}`;
    const res = await noUpstream(() => post("/v1/chat/completions", body));
    openaiError(res, 400, /too_deep/);
    const objects = `{"model":"${MODEL}","messages":[{"role":"user","content":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}]}`;
    openaiError(await noUpstream(() => post("/v1/chat/completions", objects)), 400, /too_deep/);
    // Still alive and answering.
    const ok = await post("/v1/chat/completions", good("still here"));
    expect(ok.status).toBe(200);
  });

  it("raw 0xFF 0xFE bytes → 400 invalid_utf8; a lone surrogate escape → 400", async () => {
    await noUpstream(async () => {
      const prefix = Buffer.from(`{"model":"${MODEL}","messages":[{"role":"user","content":"`);
      const bytes = Buffer.concat([prefix, Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
      openaiError(await post("/v1/chat/completions", bytes), 400, "invalid_utf8");
      openaiError(
        await post("/v1/chat/completions", `{"model":"${MODEL}","messages":[{"role":"user","content":"a\\ud800b"}]}`),
        400,
        /invalid_string/,
      );
      openaiError(
        await post(
          "/v1/chat/completions",
          `{"model":"${MODEL}","messages":[{"role":"user","content":"x","\\udc00":1}]}`,
        ),
        400,
        /invalid_string/,
      );
    });
  });

  it("/v1/messages refuses the same input in Anthropic's error shape", async () => {
    const anthropicError = (res: RawResponse, status: number) => {
      expect(res.status, res.text).toBe(status);
      const body = JSON.parse(res.text) as { type: string; error: { type: string; message: string } };
      expect(body.type).toBe("error");
      expect(body.error).toEqual(expect.objectContaining({ type: expect.any(String), message: expect.any(String) }));
      return body.error;
    };
    const msg = (content: string) =>
      `{"model":"${MODEL}","max_tokens":10,"messages":[{"role":"user","content":${content}}]}`;
    await noUpstream(async () => {
      expect(anthropicError(await post("/v1/messages", msg('"x"').slice(0, -3)), 400).type).toBe(
        "invalid_request_error",
      );
      anthropicError(await post("/v1/messages", msg('"x"'), "text/plain"), 415);
      anthropicError(await post("/v1/messages", msg("[".repeat(10_000) + "]".repeat(10_000))), 400);
      anthropicError(await post("/v1/messages", msg('"\\ud800"')), 400);
      anthropicError(
        await post(
          "/v1/messages",
          Buffer.concat([Buffer.from(msg('"')).subarray(0, -3), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]),
        ),
        400,
      );
      anthropicError(
        await post(
          "/v1/messages",
          `{"__proto__":{},"model":"${MODEL}","max_tokens":10,"messages":[{"role":"user","content":"x"}]}`,
        ),
        400,
      );
      const head = `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${1024 ** 3}\r\n\r\n`;
      const big = await rawRequest(head, msg('"x"'), 3_000);
      expect(big.status).toBe(413);
      expect(anthropicError(big, 413).type).toBe("request_too_large");
    });
  });

  it("/v1/embeddings applies the same parser", async () => {
    await noUpstream(async () => {
      openaiError(
        await post("/v1/embeddings", `{"model":"openai/text-embedding-3-small","input":"\\ud800"}`),
        400,
        /invalid_string/,
      );
      openaiError(
        await post(
          "/v1/embeddings",
          `{"model":"openai/text-embedding-3-small","input":${"[".repeat(5000)}${"]".repeat(5000)}}`,
        ),
        400,
        /too_deep/,
      );
    });
  });
});
