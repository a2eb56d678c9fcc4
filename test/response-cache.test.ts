/**
 * The response cache end to end, against an OpenAI fake on loopback, with the
 * cache in the database and (with TEST_REDIS_URL) in Redis: a project with
 * `cache: {mode: "exact"}` answers a repeated request without an upstream
 * call (`x-tollgate-cache: hit`), streamed answers replayed as streams; a hit
 * costs nothing by default (or the operator's share), exactly, and is logged
 * as a hit; `no-store` bypasses it; a changed parameter, another project or
 * another organization never hits; the security policy still runs on a hit's
 * input, and nothing it redacted is kept in the cache.
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits, logRowOf, rows, team } from "./helpers/fixtures.js";
import { cacheReader, cacheVariants, REDACT_EMAILS } from "./helpers/response-cache.js";

const KEY = "sk-cache-vendor-0123456789";
const USAGE = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
/** 1,000 × $2/M + 500 × $8/M. */
const MISS_COST = 6000n;

describe.each(cacheVariants())(`response cache in the $name (${storageKind})`, ({ env }) => {
  let t: TestApp;
  let fake: OpenAIFake;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  const store = cacheReader(() => t, env);
  const openai = (k = key) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0 });
  async function projectKey(c: Client, org: string, name: string, cache?: Record<string, unknown>) {
    const p = await c.post(`/api/v1/orgs/${org}/projects`, { name, slug: name, ...(cache ? { cache } : {}) });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    return (await c.post(`/api/v1/orgs/${org}/projects/${name}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  }
  async function provider(c: Client, org: string) {
    const res = await c.post(`/api/v1/orgs/${org}/providers`, {
      name: "Vendor",
      slug: "vendor",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: KEY,
      models: [{ id: "m", inputPricePerMillion: "2", outputPricePerMillion: "8" }],
    });
    expect(res.status).toBe(201);
  }
  const ask = (content: string, k = key, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    openai(k)
      .chat.completions.create({ model: "vendor/m", messages: [{ role: "user", content }], ...extra }, { headers })
      .withResponse();
  const logged = async (requestId: string | null) =>
    (await logRowOf<{ c: string | null; cache: string | null; attempts: unknown[] }>(
      t,
      requestId,
      "cost_micro_usd::text as c, cache, attempts",
    ))!;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: KEY, usage: USAGE });
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1", ...env } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Cache Co"));
    await grantCredits(t, slug, "100");
    await provider(owner, slug);
    key = await projectKey(owner, slug, "cached", { mode: "exact", ttlSeconds: 600 });
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await fake.close();
    store.close();
  });

  it("a repeated request is answered from the cache, without an upstream call, at no cost, logged as a hit", async () => {
    const project = await owner.get(`/api/v1/orgs/${slug}/projects/cached`);
    expect(project.body.cache).toEqual({ mode: "exact", ttlSeconds: 600 });
    const before = fake.requests.length;
    const first = await ask("what is the capital of France?");
    expect(first.response.headers.get("x-tollgate-cache")).toBe("miss");
    expect(first.response.headers.get("x-tollgate-cost-usd")).toBe("0.006000");
    const second = await ask("what is the capital of France?");
    expect(fake.requests.length - before).toBe(1);
    expect(second.response.headers.get("x-tollgate-cache")).toBe("hit");
    expect(second.response.headers.get("x-tollgate-attempts")).toBe("0");
    expect(second.response.headers.get("x-tollgate-provider")).toBe("vendor");
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(second.data.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    expect(second.response.headers.get("x-tollgate-cost-usd")).toBe("0.000000");
    expect(await logged(first.response.headers.get("x-request-id"))).toMatchObject({
      c: MISS_COST.toString(),
      cache: "miss",
    });
    expect(await logged(second.response.headers.get("x-request-id"))).toMatchObject({
      c: "0",
      cache: "hit",
      attempts: [],
    });
    const logs = await owner.get(`/api/v1/orgs/${slug}/projects/cached/logs?limit=2`);
    expect(logs.body.logs.map((l: { cache: string }) => l.cache)).toEqual(["hit", "miss"]);
    // The project's usage counts them (the overview's hit rate).
    await t.app.flushLogs();
    const usage = await owner.get(`/api/v1/orgs/${slug}/projects/cached/usage`);
    expect(usage.body.usage).toEqual([
      expect.objectContaining({ model: "vendor/m", requests: 2, cacheHits: 1, cacheMisses: 1, costMicroUsd: "6000" }),
    ]);
  });

  it("a streamed answer is replayed as a stream, usage and all", async () => {
    const stream = async () => {
      const s = await openai().chat.completions.create({
        model: "vendor/m",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "stream this answer" }],
      });
      let text = "";
      let usage: OpenAI.CompletionUsage | undefined;
      let chunks = 0;
      for await (const c of s) {
        chunks++;
        text += c.choices[0]?.delta?.content ?? "";
        if (c.usage) usage = c.usage;
      }
      return { text, usage, chunks };
    };
    const before = fake.requests.length;
    const miss = await stream();
    const hit = await stream();
    expect(fake.requests.length - before).toBe(1);
    expect(hit.text).toBe("echo: stream this answer");
    expect(hit).toEqual(miss);
    // A non-streamed request of the same content is another entry (a stream is replayed from its chunks).
    const whole = await ask("stream this answer");
    expect(whole.response.headers.get("x-tollgate-cache")).toBe("miss");
  });

  it("no-store bypasses the cache; another parameter, project or organization never hits", async () => {
    const q = "cache isolation question";
    await ask(q);
    const before = fake.requests.length;
    const bypass = await ask(q, key, {}, { "x-tollgate-cache": "no-store" });
    expect(bypass.response.headers.get("x-tollgate-cache")).toBeNull();
    expect(fake.requests.length - before).toBe(1);
    expect((await ask(q, key, { temperature: 0.3 })).response.headers.get("x-tollgate-cache")).toBe("miss");
    expect((await ask(q, key, { temperature: 0.3 })).response.headers.get("x-tollgate-cache")).toBe("hit");
    // The same request from another project of the organization, and from another organization.
    const otherProject = await projectKey(owner, slug, "other", { mode: "exact" });
    expect((await ask(q, otherProject)).response.headers.get("x-tollgate-cache")).toBe("miss");
    const stranger = await t.signUp();
    const org2 = await createOrg(stranger);
    await grantCredits(t, org2.slug, "10");
    await provider(stranger, org2.slug);
    const strangerKey = await projectKey(stranger, org2.slug, "theirs", { mode: "exact" });
    expect((await ask(q, strangerKey)).response.headers.get("x-tollgate-cache")).toBe("miss");
    // A project without the cache never says anything about it.
    const plain = await projectKey(owner, slug, "plain");
    expect((await ask(q, plain)).response.headers.get("x-tollgate-cache")).toBeNull();
    // Turning it off applies to the next request.
    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/cached`, { cache: { mode: "off" } })).status).toBe(200);
    expect((await ask(q)).response.headers.get("x-tollgate-cache")).toBeNull();
    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/cached`, { cache: { mode: "exact" } })).status).toBe(200);
  });

  it("the security policy runs on a hit's input, and what it redacted is never kept", async () => {
    const put = await owner.put(`/api/v1/orgs/${slug}/security-policy`, REDACT_EMAILS);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const before = fake.requests.length;
    const a = await ask("write to alice@example.com about the invoice");
    const b = await ask("write to bob@example.org about the invoice");
    // Both left Tollgate as the same redacted text: one upstream call, then a hit.
    expect(fake.requests.length - before).toBe(1);
    expect(b.response.headers.get("x-tollgate-cache")).toBe("hit");
    expect(JSON.stringify(fake.last().body)).not.toContain("alice@example.com");
    const stored = await store.kept();
    expect(stored.length).toBeGreaterThan(0);
    for (const r of stored) expect(r).not.toMatch(/alice@example\.com|bob@example\.org/);
    void a;
    // A blocked input is refused on a would-be hit too.
    const blocked = await ask("my card is 4111 1111 1111 1111").catch((e: { status: number }) => e);
    expect((blocked as { status: number }).status).toBe(403);
  });
});

describe(`the response cache's database store (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("keeps an answer until it expires, per project, writing in batches", async () => {
    const { createDbResponseCache } = await import("../src/modules/cache/cache.store.js");
    const errors: unknown[] = [];
    const store = createDbResponseCache(t.db, (e) => errors.push(e));
    const entry = {
      kind: "response" as const,
      usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 2 },
      served: "a/m",
    };
    await store.set("p1", "o1", "k1", entry, JSON.stringify(entry), 60);
    await store.set("p1", "o1", "gone", entry, JSON.stringify(entry), 1);
    let found = await store.get("p1", "k1");
    for (let i = 0; i < 100 && !found; i++) {
      await new Promise((r) => setTimeout(r, 20));
      found = await store.get("p1", "k1");
    }
    expect(found?.entry).toEqual(entry);
    expect(found!.expiresAtMs).toBeGreaterThan(Date.now() + 50_000);
    expect(await store.get("p2", "k1")).toBeNull();
    // Expired rows are never served.
    await t.db.execute(sql`update response_cache set expires_at = now() - interval '1 second' where key = 'gone'`);
    expect(await store.get("p1", "gone")).toBeNull();
    expect(errors).toEqual([]);
  });
});

describe(`response cache hits at the operator's price (${storageKind})`, () => {
  let t: TestApp;
  let fake: OpenAIFake;
  let base: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: KEY, usage: USAGE });
    t = await startTestApp({
      env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1", TOLLGATE_CACHE_HIT_PRICE_PERCENT: "25" },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await fake.close();
  });

  it("a hit costs TOLLGATE_CACHE_HIT_PRICE_PERCENT of the usage's price, exactly", async () => {
    const { owner, slug } = await team(t, "Priced Cache Co");
    await grantCredits(t, slug, "10");
    expect(
      (
        await owner.post(`/api/v1/orgs/${slug}/providers`, {
          name: "Vendor",
          slug: "vendor",
          format: "openai",
          baseUrl: `${fake.url}/v1`,
          apiKey: KEY,
          models: [{ id: "m", inputPricePerMillion: "2", outputPricePerMillion: "8" }],
        })
      ).status,
    ).toBe(201);
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "p", slug: "p-1", cache: { mode: "exact" } })).status,
    ).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/p-1/keys`, { name: "k", environment: "live" })).body
      .key;
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    const ask = () =>
      client.chat.completions
        .create({ model: "vendor/m", messages: [{ role: "user", content: "price me" }] })
        .withResponse();
    expect((await ask()).response.headers.get("x-tollgate-cost-usd")).toBe("0.006000");
    const hit = await ask();
    expect(hit.response.headers.get("x-tollgate-cache")).toBe("hit");
    // 25 % of 6,000 micro-USD.
    expect(hit.response.headers.get("x-tollgate-cost-usd")).toBe("0.001500");
    await t.app.flushLogs();
    const [ledger] = await rows<{ usage: string }>(
      t,
      sql`select coalesce(sum(-amount_micro_usd), 0)::text as usage from ledger_entries where kind = 'usage' and org_id = (select id from organizations where slug = ${slug})`,
    );
    expect(ledger!.usage).toBe("7500");
  });
});
