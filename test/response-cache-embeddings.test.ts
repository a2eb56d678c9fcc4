/**
 * The response cache on /v1/embeddings, end to end with the official OpenAI
 * client against an OpenAI fake on loopback, with the cache in the database
 * and (with TEST_REDIS_URL) in Redis: a repeated embeddings request is
 * answered without an upstream call, the same vectors, billed at the
 * operator's hit price exactly and logged as a hit; another dimension or
 * another API never shares an answer; `no-store` bypasses it; the security
 * policy runs on a hit's input and nothing it redacted is kept.
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, logRowOf, rows, team } from "./helpers/fixtures.js";
import { cacheReader, cacheVariants, REDACT_EMAILS } from "./helpers/response-cache.js";

const KEY = "sk-embed-vendor-0123456789";

describe.each(cacheVariants())(`embeddings from the response cache in the $name (${storageKind})`, ({ env }) => {
  let t: TestApp;
  let fake: OpenAIFake;
  let owner: Client;
  let slug: string;
  let client: OpenAI;
  const store = cacheReader(() => t, env);

  const embed = (input: string | string[], extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    client.embeddings.create({ model: "vendor/e", input, ...extra }, { headers }).withResponse();
  const logged = async (requestId: string | null) =>
    (await logRowOf<{ c: string | null; cache: string | null }>(t, requestId, "cost_micro_usd::text as c, cache"))!;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: KEY });
    t = await startTestApp({
      env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1", TOLLGATE_CACHE_HIT_PRICE_PERCENT: "50", ...env },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Embed Cache Co"));
    await grantCredits(t, slug, "10");
    const made = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Vendor",
      slug: "vendor",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: KEY,
      models: [
        { id: "e", inputPricePerMillion: "100", outputPricePerMillion: "0" },
        { id: "m", inputPricePerMillion: "1", outputPricePerMillion: "2" },
      ],
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const project = await owner.post(`/api/v1/orgs/${slug}/projects`, {
      name: "rag",
      slug: "rag",
      cache: { mode: "exact", ttlSeconds: 3600 },
    });
    expect(project.status).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/rag/keys`, { name: "k", environment: "live" })).body
      .key as string;
    client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await fake.close();
    store.close();
  });

  it("a repeated request gets the same vectors without an upstream call, at the hit price, logged as a hit", async () => {
    const before = fake.requests.length;
    // 26 characters: the fake reports 7 tokens; at $100 per million, 700 micro-USD.
    const miss = await embed("embed this sentence please");
    expect(miss.response.headers.get("x-tollgate-cache")).toBe("miss");
    expect(miss.response.headers.get("x-tollgate-cost-usd")).toBe("0.000700");
    const hit = await embed("embed this sentence please");
    expect(fake.requests.length - before).toBe(1);
    expect(hit.response.headers.get("x-tollgate-cache")).toBe("hit");
    expect(hit.response.headers.get("x-tollgate-attempts")).toBe("0");
    expect(hit.response.headers.get("x-tollgate-provider")).toBe("vendor");
    expect(hit.data.data).toEqual(miss.data.data);
    expect(hit.data.model).toBe("vendor/e");
    expect(hit.data.usage).toEqual({ prompt_tokens: 7, total_tokens: 7 });
    // 50 % of 700 micro-USD.
    expect(hit.response.headers.get("x-tollgate-cost-usd")).toBe("0.000350");
    expect(await logged(miss.response.headers.get("x-request-id"))).toEqual({ c: "700", cache: "miss" });
    expect(await logged(hit.response.headers.get("x-request-id"))).toEqual({ c: "350", cache: "hit" });
    const [ledger] = await rows<{ usage: string }>(
      t,
      sql`select coalesce(sum(-amount_micro_usd), 0)::text as usage from ledger_entries where kind = 'usage' and org_id = (select id from organizations where slug = ${slug})`,
    );
    expect(ledger!.usage).toBe("1050");
    // Counted for the operator's dashboards, per endpoint.
    const metrics = (await t.anon.get("/metrics")).body as string;
    expect(metrics).toMatch(/^tollgate_response_cache_requests_total\{endpoint="embeddings",result="miss"\} 1$/m);
    expect(metrics).toMatch(/^tollgate_response_cache_requests_total\{endpoint="embeddings",result="hit"\} 1$/m);
  });

  it("another dimension, another input order or another API never shares an answer; no-store bypasses it", async () => {
    await embed(["first", "second"]);
    const before = fake.requests.length;
    expect((await embed(["first", "second"])).response.headers.get("x-tollgate-cache")).toBe("hit");
    expect((await embed(["second", "first"])).response.headers.get("x-tollgate-cache")).toBe("miss");
    expect((await embed(["first", "second"], { dimensions: 4 })).response.headers.get("x-tollgate-cache")).toBe("miss");
    expect((await embed(["first", "second"], { dimensions: 4 })).response.headers.get("x-tollgate-cache")).toBe("hit");
    const bypass = await embed(["first", "second"], {}, { "x-tollgate-cache": "no-store" });
    expect(bypass.response.headers.get("x-tollgate-cache")).toBeNull();
    expect(fake.requests.length - before).toBe(3);
    // The same text as a chat message is a chat request: never answered with vectors.
    const chat = await client.chat.completions
      .create({ model: "vendor/m", messages: [{ role: "user", content: "embed this sentence please" }] })
      .withResponse();
    expect(chat.response.headers.get("x-tollgate-cache")).toBe("miss");
    expect(chat.data.choices[0]!.message.content).toBe("echo: embed this sentence please");
  });

  it("the security policy runs on a hit's input, and what it redacted is never kept", async () => {
    const put = await owner.put(`/api/v1/orgs/${slug}/security-policy`, REDACT_EMAILS);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const before = fake.requests.length;
    await embed("profile of alice@example.com");
    const second = await embed("profile of bob@example.org");
    // Both left Tollgate as the same redacted text: one upstream call, then a hit.
    expect(fake.requests.length - before).toBe(1);
    expect(second.response.headers.get("x-tollgate-cache")).toBe("hit");
    expect(JSON.stringify(fake.last().body)).not.toContain("alice@example.com");
    const stored = await store.kept();
    expect(stored.length).toBeGreaterThan(0);
    for (const entry of stored) expect(entry).not.toMatch(/alice@example\.com|bob@example\.org/);
    // A blocked input is refused before the cache is asked.
    const blocked = await embed("card 4111 1111 1111 1111").catch((e: { status: number; code: string }) => e);
    expect((blocked as { status: number }).status).toBe(403);
  });
});
