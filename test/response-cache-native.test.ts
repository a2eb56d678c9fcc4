/**
 * The response cache on requests sent to a provider as written (native
 * passthrough): /v1/messages to an Anthropic-format provider, with the
 * official Anthropic client, against an Anthropic fake on loopback, with the
 * cache in the database and (with TEST_REDIS_URL) in Redis. A repeated
 * request — whole or streamed — is answered as the client first got it,
 * without an upstream call, at the hit price, logged as a hit; the headers
 * sent with it (`anthropic-beta`) are part of the key; the policy runs on a
 * hit's input and nothing it redacted is kept.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, logRowOf, team } from "./helpers/fixtures.js";
import { cacheReader, cacheVariants, REDACT_EMAILS } from "./helpers/response-cache.js";

const KEY = "sk-ant-cache-vendor-0123456789";

describe.each(cacheVariants())(`Anthropic messages from the cache in the $name (${storageKind})`, ({ env }) => {
  let t: TestApp;
  let fake: FakeServer;
  let owner: Client;
  let slug: string;
  let base: string;
  let key: string;
  const store = cacheReader(() => t, env);

  const anthropic = () => new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
  const ask = (content: string, headers: Record<string, string> = {}) =>
    anthropic()
      .messages.create(
        { model: "claude-vendor/claude-x", max_tokens: 200, messages: [{ role: "user", content }] },
        { headers },
      )
      .withResponse();
  const logged = async (requestId: string | null) =>
    (await logRowOf<{ c: string | null; cache: string | null }>(t, requestId, "cost_micro_usd::text as c, cache"))!;
  /** At $1 per million input and $2 per million output tokens. */
  const costOf = (u: { input_tokens: number; output_tokens: number }) => u.input_tokens + 2 * u.output_tokens;

  beforeAll(async () => {
    fake = await startAnthropicFake({ apiKey: KEY });
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1", ...env } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Native Cache Co"));
    await grantCredits(t, slug, "10");
    const made = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Claude vendor",
      slug: "claude-vendor",
      format: "anthropic",
      baseUrl: fake.url,
      apiKey: KEY,
      models: [{ id: "claude-x", inputPricePerMillion: "1", outputPricePerMillion: "2" }],
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const project = await owner.post(`/api/v1/orgs/${slug}/projects`, {
      name: "claude",
      slug: "claude",
      cache: { mode: "exact", ttlSeconds: 600 },
    });
    expect(project.status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/claude/keys`, { name: "k", environment: "live" })).body
      .key as string;
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await fake.close();
    store.close();
  });

  it("a repeated message is answered as first sent, without an upstream call, at no cost, logged as a hit", async () => {
    const before = fake.requests.length;
    const miss = await ask("what is the capital of France?");
    expect(fake.last().path).toBe("/v1/messages");
    expect(miss.response.headers.get("x-tollgate-cache")).toBe("miss");
    const cost = costOf(miss.data.usage);
    expect(cost).toBeGreaterThan(0);
    expect(miss.response.headers.get("x-tollgate-cost-usd")).toBe((cost / 1e6).toFixed(6));
    const hit = await ask("what is the capital of France?");
    expect(fake.requests.length - before).toBe(1);
    expect(hit.response.headers.get("x-tollgate-cache")).toBe("hit");
    expect(hit.response.headers.get("x-tollgate-attempts")).toBe("0");
    expect(hit.response.headers.get("x-tollgate-provider")).toBe("claude-vendor");
    expect(hit.data).toEqual(miss.data);
    expect(hit.data.content).toEqual([{ type: "text", text: "echo: what is the capital of France?" }]);
    expect(hit.response.headers.get("x-tollgate-cost-usd")).toBe("0.000000");
    expect(await logged(miss.response.headers.get("x-request-id"))).toEqual({ c: String(cost), cache: "miss" });
    expect(await logged(hit.response.headers.get("x-request-id"))).toEqual({ c: "0", cache: "hit" });
  });

  it("a streamed message is replayed as the same events, with the cost of its own call", async () => {
    const stream = async () => {
      const s = anthropic().messages.stream({
        model: "claude-vendor/claude-x",
        max_tokens: 200,
        messages: [{ role: "user", content: "stream me an answer" }],
      });
      const events: string[] = [];
      let cost: unknown;
      for await (const e of s) {
        events.push(e.type);
        if (e.type === "message_delta")
          cost = (e as unknown as { tollgate?: { cost_usd?: string } }).tollgate?.cost_usd;
      }
      return { events, message: await s.finalMessage(), cost };
    };
    const before = fake.requests.length;
    const miss = await stream();
    const hit = await stream();
    expect(fake.requests.length - before).toBe(1);
    expect(hit.message).toEqual(miss.message);
    expect(hit.message.content).toEqual([{ type: "text", text: "echo: stream me an answer" }]);
    expect(hit.events).toEqual(miss.events);
    expect(miss.cost).toBe((costOf(miss.message.usage) / 1e6).toFixed(6));
    expect(hit.cost).toBe("0.000000");
    // A whole request of the same content is another entry (a stream is replayed from its events).
    expect((await ask("stream me an answer")).response.headers.get("x-tollgate-cache")).toBe("miss");
  });

  it("the headers sent with the request are part of the key; no-store bypasses the cache", async () => {
    await ask("beta question");
    const before = fake.requests.length;
    const beta = { "anthropic-beta": "token-efficient-tools-2025-02-19" };
    expect((await ask("beta question", beta)).response.headers.get("x-tollgate-cache")).toBe("miss");
    expect(fake.last().headers["anthropic-beta"]).toBe(beta["anthropic-beta"]);
    expect((await ask("beta question", beta)).response.headers.get("x-tollgate-cache")).toBe("hit");
    const bypass = await ask("beta question", { "x-tollgate-cache": "no-store" });
    expect(bypass.response.headers.get("x-tollgate-cache")).toBeNull();
    expect(fake.requests.length - before).toBe(2);
  });

  it("the security policy runs on a hit's input, and what it redacted is never kept", async () => {
    const put = await owner.put(`/api/v1/orgs/${slug}/security-policy`, REDACT_EMAILS);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const before = fake.requests.length;
    await ask("write to alice@example.com about the invoice");
    const second = await ask("write to bob@example.org about the invoice");
    expect(fake.requests.length - before).toBe(1);
    expect(second.response.headers.get("x-tollgate-cache")).toBe("hit");
    expect(JSON.stringify(fake.last().body)).not.toContain("alice@example.com");
    const stored = await store.kept();
    expect(stored.length).toBeGreaterThan(0);
    for (const entry of stored) expect(entry).not.toMatch(/alice@example\.com|bob@example\.org/);
    const blocked = await ask("my card is 4111 1111 1111 1111").catch((e: { status: number }) => e);
    expect((blocked as { status: number }).status).toBe(403);
  });
});
