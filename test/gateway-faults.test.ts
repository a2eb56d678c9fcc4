/**
 * Upstream faults through the gateway (reliability checklist C1–C5): retries
 * and fallbacks only before the first byte, Retry-After honoured by the circuit
 * breaker, a reset mid-stream ends the stream with an error event (no hang, no
 * replay), a hanging upstream ends in 504 within the total deadline, and a
 * client that goes away tears the upstream call down and is logged as such.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";

const FALLBACK = "anthropic/claude-3-5-haiku-latest";

/** A port with nothing listening on it (connection refused). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function listen(t: TestApp): Promise<string> {
  await t.app.server.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
}

/** A project (with the given settings) and a live key for it. */
async function projectKey(
  owner: Client,
  org: string,
  slug: string,
  settings: Record<string, unknown> = {},
): Promise<string> {
  const p = await owner.post(`/api/v1/orgs/${org}/projects`, { name: slug, slug, ...settings });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const k = await owner.post(`/api/v1/orgs/${org}/projects/${slug}/keys`, { name: "k", environment: "live" });
  expect(k.status).toBe(201);
  return k.body.key as string;
}

const countFor = (fake: FakeServer, model: string) => fake.requests.filter((r) => r.body?.model === model).length;

describe(`gateway faults (${storageKind})`, () => {
  let t: TestApp;
  let openaiFake: FakeServer;
  let anthropicFake: FakeServer;
  let base: string;
  let owner: Client;
  let org: string;

  beforeAll(async () => {
    [openaiFake, anthropicFake] = await Promise.all([
      startOpenAIFake({ apiKey: "sk-oa" }),
      startAnthropicFake({ apiKey: "sk-ant" }),
    ]);
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-oa",
        OPENAI_BASE_URL: `${openaiFake.url}/v1`,
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: anthropicFake.url,
        GEMINI_API_KEY: "gem",
        GEMINI_BASE_URL: `http://127.0.0.1:${await closedPort()}`,
      },
    });
    base = await listen(t);
    owner = await t.signUp();
    org = (await createOrg(owner)).slug;
    await grantCredits(t, org, "100"); // real-priced models on live keys are billed
  });
  afterAll(async () => {
    // Sockets of aborted requests linger half-closed for a few seconds in Node; do not wait for them.
    t.app.server.server.closeAllConnections();
    await t.close();
    await Promise.all([openaiFake.close(), anthropicFake.close()]);
  });

  const openai = (key: string) => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });

  it("fails over to the fallback model when the primary keeps answering 503, and says so", async () => {
    const key = await projectKey(owner, org, "fb-503", { fallbackModels: [FALLBACK] });
    const model = "openai/gpt-4.1";
    openaiFake.setFault({ type: "status", status: 503 }, 10);
    const { data, response } = await openai(key)
      .chat.completions.create({ model, messages: [{ role: "user", content: "fail over please" }] })
      .withResponse();
    openaiFake.setFault(undefined);
    expect(data.choices[0]!.message.content).toBe("echo: fail over please");
    expect(data.model).toBe(FALLBACK);
    expect(response.headers.get("x-tollgate-model")).toBe(FALLBACK);
    expect(response.headers.get("x-tollgate-provider")).toBe("anthropic");
    // 1 call + 2 retries on the primary, then the fallback.
    expect(response.headers.get("x-tollgate-attempts")).toBe("4");
    expect(countFor(openaiFake, "gpt-4.1")).toBe(3);
  });

  it("fails over when the primary refuses the connection", async () => {
    const key = await projectKey(owner, org, "fb-refused", { fallbackModels: [FALLBACK] });
    const { data, response } = await openai(key)
      .chat.completions.create({
        model: "gemini/gemini-2.0-flash",
        messages: [{ role: "user", content: "anyone there" }],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: anyone there");
    expect(response.headers.get("x-tollgate-model")).toBe(FALLBACK);
  });

  it("answers an upstream 429 with 429 + Retry-After, then skips that target for the window", async () => {
    const model = "openai/gpt-4o";
    const plainKey = await projectKey(owner, org, "rl-plain");
    const fbKey = await projectKey(owner, org, "rl-fallback", { fallbackModels: [FALLBACK] });

    openaiFake.setFault({ type: "status", status: 429, retryAfter: "30", message: "slow down" });
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${plainKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
    openaiFake.setFault(undefined);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(res.headers.get("x-tollgate-error-source")).toBe("upstream");
    const body = (await res.json()) as { error: { type: string; code: string; source: string } };
    expect(body.error).toMatchObject({ type: "rate_limit_error", code: "upstream_rate_limited", source: "upstream" });
    // A Retry-After of 30 s is longer than the retry budget allows: one call, no retry.
    expect(countFor(openaiFake, "gpt-4o")).toBe(1);

    // Within the window, a project with a fallback goes straight to it: the primary sees nothing.
    const { data, response } = await openai(fbKey)
      .chat.completions.create({ model, messages: [{ role: "user", content: "second" }] })
      .withResponse();
    expect(data.model).toBe(FALLBACK);
    expect(response.headers.get("x-tollgate-model")).toBe(FALLBACK);
    expect(countFor(openaiFake, "gpt-4o")).toBe(1);
    // The skipped primary is not an attempt: one call was made, to the fallback.
    expect(response.headers.get("x-tollgate-attempts")).toBe("1");
    await t.app.flushLogs();
    const log = await owner.get(
      `/api/v1/orgs/${org}/projects/rl-fallback/logs/${response.headers.get("x-request-id")}`,
    );
    expect(log.body.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["skipped_circuit_open", "ok"]);

    // Without a fallback the client is told to come back when the window ends, not hammered through.
    const again = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${plainKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "third" }] }),
    });
    expect(again.status).toBe(503);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(25);
    expect(Number(again.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("upstream_circuit_open");
    expect(countFor(openaiFake, "gpt-4o")).toBe(1);
  });

  it("ends a /v1/messages stream that breaks mid-way with an error event, without replay", async () => {
    const key = await projectKey(owner, org, "reset-messages");
    openaiFake.setFault({ type: "reset_after", chunks: 3, delayMs: 200 }, 1);
    const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
    const stream = anthropic.messages.stream({
      model: "openai/gpt-4o-mini",
      max_tokens: 200,
      messages: [{ role: "user", content: "messages stream that will break in the middle" }],
    });
    let text = "";
    stream.on("text", (d) => (text += d));
    const started = Date.now();
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/reset|connection|lost/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(text.length).toBeGreaterThan(0);
    expect(
      openaiFake.requests.filter(
        (r) => r.body?.messages?.[0]?.content === "messages stream that will break in the middle",
      ).length,
    ).toBe(1);

    // Logged once, as an upstream error, with the partial output it produced.
    await t.app.flushLogs();
    const logs = await owner.get(`/api/v1/orgs/${org}/projects/reset-messages/logs`);
    expect(logs.body.logs).toHaveLength(1);
    expect(logs.body.logs[0]).toMatchObject({
      endpoint: "messages",
      outcome: "error",
      errorSource: "upstream",
      stream: true,
      provider: "openai",
    });
    expect(logs.body.logs[0].outputTokens).toBeGreaterThan(0);
  });

  it("a client abort before the first byte aborts the upstream call at once", async () => {
    const key = await projectKey(owner, org, "abort-early");
    openaiFake.setFault({ type: "hang_headers" }, 1);
    const ac = new AbortController();
    const pending = fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "openai/gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "never answered" }],
      }),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    for (
      const until = Date.now() + 2_000;
      !openaiFake.requests.some((r) => r.body?.messages?.[0]?.content === "never answered") && Date.now() < until;
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const upstreamClosed = openaiFake.waitForClientAbort(2_000);
    ac.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect(await upstreamClosed).toBe(true);
    // No retry and no fallback after the client left.
    await new Promise((r) => setTimeout(r, 300));
    expect(openaiFake.requests.filter((r) => r.body?.messages?.[0]?.content === "never answered")).toHaveLength(1);
    let rowsSeen: Array<Record<string, unknown>> = [];
    for (const until = Date.now() + 3_000; !rowsSeen.length && Date.now() < until; ) {
      await t.app.flushLogs();
      rowsSeen = (await owner.get(`/api/v1/orgs/${org}/projects/abort-early/logs`)).body.logs;
    }
    expect(rowsSeen[0]).toMatchObject({ outcome: "client_aborted", status: 499 });
  });

  it("a client abort mid-stream closes the upstream connection and is logged as client_aborted with estimated output", async () => {
    const key = await projectKey(owner, org, "abort");
    openaiFake.setFault({ type: "slow", delayMs: 150 }, 1);
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", stream: true, messages: [{ role: "user", content: words }] }),
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    const deadline = Date.now() + 5_000;
    while (!/"content":"[^"]+"/.test(seen) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    expect(seen).toMatch(/"content":"echo/);
    const upstreamClosed = openaiFake.waitForClientAbort(2_000);
    ac.abort();
    expect(await upstreamClosed).toBe(true);

    let row: Record<string, any> | undefined;
    for (const until = Date.now() + 3_000; !row && Date.now() < until; ) {
      await t.app.flushLogs();
      const r = await owner.get(`/api/v1/orgs/${org}/projects/abort/logs/${requestId}`);
      if (r.status === 200) row = r.body;
      else await new Promise((s) => setTimeout(s, 50));
    }
    expect(row).toMatchObject({ outcome: "client_aborted", status: 499, stream: true, usageEstimated: true });
    expect(row!.outputTokens).toBeGreaterThan(0);
    expect(row!.inputTokens).toBeGreaterThan(0);
  });
});

describe(`gateway deadlines (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let base: string;
  let key: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    t = await startTestApp({
      env: { OPENAI_API_KEY: "sk-oa", OPENAI_BASE_URL: `${fake.url}/v1` },
      appOptions: { gatewayTimeouts: { firstByteMs: 300, idleMs: 300, totalMs: 1000 } },
    });
    base = await listen(t);
    const owner = await t.signUp();
    const slug = (await createOrg(owner)).slug;
    await grantCredits(t, slug, "100");
    key = await projectKey(owner, slug, "deadline");
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const post = (body: unknown) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("an upstream that never answers ends in 504 timeout_error within the total deadline", async () => {
    fake.setFault({ type: "hang_headers" });
    const started = Date.now();
    const res = await post({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hang" }] });
    const elapsed = Date.now() - started;
    fake.setFault(undefined);
    expect(res.status).toBe(504);
    const body = (await res.json()) as { error: { type: string; source: string } };
    expect(body.error.type).toBe("timeout_error");
    expect(body.error.source).toBe("upstream");
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(2_000);
  });

  it("a stream that goes silent after its first events ends with an error event, not a hang", async () => {
    fake.setFault({ type: "hang_after", chunks: 2 }, 1);
    const started = Date.now();
    const res = await post({
      model: "openai/gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "one two three four five six seven" }],
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(text).toContain('"type":"timeout_error"');
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
  });
});
