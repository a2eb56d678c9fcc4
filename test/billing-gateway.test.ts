/**
 * Metering through real HTTP: reserve the worst case, 402 when it cannot be
 * covered, settle to actual usage once, release on upstream errors, bill
 * generated tokens on client abort, test keys billed like live keys, spend caps, and the
 * concurrency proof (balance B, N parallel requests of cost c, N·c > B).
 * Prices come from a custom provider (input $2 / output $10 per million
 * tokens) in front of the OpenAI fake, so every cost is computable here.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { randomBytes } from "node:crypto";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

const IN_PRICE = 2_000_000n; // micro-USD per million input tokens
const OUT_PRICE = 10_000_000n;
const cost = (input: number, output: number) =>
  (BigInt(input) * IN_PRICE + BigInt(output) * OUT_PRICE + 999_999n) / 1_000_000n;

// The same proofs with credit holds in this process, and (TEST_REDIS_URL) in Redis, shared by replicas.
const modes: Array<{ holds: string; env: Record<string, string> }> = [{ holds: "in process", env: {} }];
if (TEST_REDIS_URL)
  modes.push({
    holds: "in Redis",
    env: { REDIS_URL: TEST_REDIS_URL, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` },
  });
else
  describe.skip("billing on the gateway with credit holds in Redis (needs TEST_REDIS_URL)", () =>
    it("skipped", () => undefined));

describe.each(modes)(`billing on the gateway (${storageKind}, credit holds $holds)`, ({ env }) => {
  let t: TestApp;
  let fake: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  let testKey: string;

  async function chat(k: string, body: Record<string, unknown>, signal?: AbortSignal) {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "priced/m1", messages: [{ role: "user", content: "hello there" }], ...body }),
      signal,
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, headers: res.headers, body: json, text };
  }

  const billing = async () => (await owner.get(`/api/v1/orgs/${slug}/billing`)).body;
  const ledgerSum = async () =>
    BigInt(
      (
        await rows<{ s: string }>(
          t,
          sql`select coalesce(sum(amount_micro_usd),0)::text as s from ledger_entries where org_id = ${orgId}`,
        )
      )[0]!.s,
    );
  const accountBalance = async () =>
    BigInt(
      (
        await rows<{ b: string }>(
          t,
          sql`select coalesce((select balance_micro_usd::text from billing_accounts where org_id = ${orgId}), '0') as b`,
        )
      )[0]!.b,
    );

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-priced" });
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1", ...env } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const x = await team(t, "Billing Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
    const p = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Priced",
      slug: "priced",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-priced",
      models: [
        { id: "m1", maxOutputTokens: 1000, inputPricePerMillion: "2", outputPricePerMillion: "10" },
        { id: "free" },
      ],
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "App", slug: "main-app" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "live", environment: "live" })).body
      .key;
    testKey = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "test", environment: "test" }))
      .body.key;
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it("a new org has balance 0: a priced request gets 402 insufficient_credits (OpenAI and Anthropic shapes) before any upstream call", async () => {
    const before = fake.requests.length;
    const r = await chat(key, { max_tokens: 50 });
    expect(r.status).toBe(402);
    expect(r.body.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_credits", source: "gateway" });
    expect(r.body.error.message).toMatch(/Insufficient credits/);
    const a = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "priced/m1", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(a.status).toBe(402);
    expect(await a.json()).toMatchObject({
      type: "error",
      error: { type: "billing_error", code: "insufficient_credits" },
    });
    expect(fake.requests.length).toBe(before);
  });

  it("free models (mock, unpriced custom models) are never refused or charged; test keys are billed like live keys", async () => {
    const m = await chat(key, { model: "mock/echo" });
    expect(m.status).toBe(200);
    expect(m.headers.get("x-tollgate-cost-usd")).toBe("0.000000");
    expect((await chat(key, { model: "priced/free" })).status).toBe(200);
    const tk = await chat(testKey, { model: "priced/free", max_tokens: 50 });
    expect(tk.status).toBe(200);
    expect(tk.headers.get("x-tollgate-cost-usd")).toBe("0.000000");
    // The org's own provider with prices: a test key is held and charged like a live key (balance 0 here).
    const paid = await chat(testKey, { max_tokens: 50 });
    expect(paid.status).toBe(402);
    expect(paid.body.error.code).toBe("insufficient_credits");
    await t.app.flushLogs();
    expect(await ledgerSum()).toBe(0n);
  });

  it("charges actual usage once, reports cost and balance in headers, on the log row and in the ledger", async () => {
    await grantCredits(t, slug, "1");
    const r = await chat(key, { max_tokens: 20 });
    expect(r.status, r.text).toBe(200);
    const expected = cost(r.body.usage.prompt_tokens, r.body.usage.completion_tokens);
    expect(r.headers.get("x-tollgate-cost-usd")).toBe(`0.${expected.toString().padStart(6, "0")}`);
    expect(r.headers.get("x-tollgate-balance-usd")).toBe(`0.${(1_000_000n - expected).toString().padStart(6, "0")}`);
    await t.app.flushLogs();
    const [log] = await rows<{ c: string }>(
      t,
      sql`select cost_micro_usd::text as c from request_logs where id = ${r.headers.get("x-request-id")}`,
    );
    expect(log!.c).toBe(expected.toString());
    expect(await ledgerSum()).toBe(1_000_000n - expected);
    expect(await accountBalance()).toBe(1_000_000n - expected);
    const b = await billing();
    expect(b).toMatchObject({
      balanceMicroUsd: (1_000_000n - expected).toString(),
      reservedMicroUsd: "0",
      monthSpendMicroUsd: expected.toString(),
      creditsEnabled: true,
      stripeConfigured: false,
    });
  });

  it("streams end with cost and balance in the final usage chunk", async () => {
    const r = await chat(key, { max_tokens: 20, stream: true, stream_options: { include_usage: true } });
    expect(r.status).toBe(200);
    const last = r.text
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)))
      .find((c) => c.usage);
    expect(last.tollgate.cost_usd).toMatch(/^0\.\d{6}$/);
    expect(last.tollgate.balance_usd).toMatch(/^0\.\d{6}$/);
    expect(BigInt(last.tollgate.cost_usd.replace(".", ""))).toBe(
      cost(last.usage.prompt_tokens, last.usage.completion_tokens),
    );
  });

  it("an upstream error releases the hold: nothing is charged", async () => {
    await t.app.flushLogs();
    const before = await ledgerSum();
    fake.setFault({ type: "status", status: 500, message: "boom" }, 5);
    const r = await chat(key, { max_tokens: 20 });
    fake.setFault(undefined);
    expect(r.status).toBe(502);
    await t.app.flushLogs();
    expect(await ledgerSum()).toBe(before);
    expect((await billing()).reservedMicroUsd).toBe("0");
  });

  it("a client abort mid-stream bills the tokens generated so far, once", async () => {
    await t.app.flushLogs();
    const before = await ledgerSum();
    fake.setFault({ type: "hang_after", chunks: 3 }, 1);
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "priced/m1",
        max_tokens: 200,
        stream: true,
        messages: [{ role: "user", content: "one two three four five six seven eight" }],
      }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let got = "";
    while (!got.includes("three") && !got.includes("two")) got += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    await fake.waitForClientAbort(5000);
    await new Promise((r) => setTimeout(r, 200));
    await t.app.flushLogs();
    const [log] = await rows<{ outcome: string; c: string; out: number }>(
      t,
      sql`select outcome, cost_micro_usd::text as c, output_tokens as out from request_logs where org_id = ${orgId} order by created_at desc limit 1`,
    );
    expect(log!.outcome).toBe("client_aborted");
    expect(BigInt(log!.c)).toBeGreaterThan(0n);
    expect(await ledgerSum()).toBe(before - BigInt(log!.c));
    expect((await billing()).reservedMicroUsd).toBe("0");
  });

  it("concurrency proof: balance B, N parallel requests of worst case c with N·c > B — at most ⌊B/c⌋ admitted, balance never below 0", async () => {
    const x = await team(t, "Race Co");
    const p = await x.owner.post(`/api/v1/orgs/${x.slug}/providers`, {
      name: "Race P",
      slug: "race-p",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-priced",
      models: [{ id: "m1", inputPricePerMillion: "2", outputPricePerMillion: "10" }],
    });
    expect(p.status).toBe(201);
    expect((await x.owner.post(`/api/v1/orgs/${x.slug}/projects`, { name: "Race", slug: "race-app" })).status).toBe(
      201,
    );
    const k = (await x.owner.post(`/api/v1/orgs/${x.slug}/projects/race-app/keys`, { name: "k", environment: "live" }))
      .body.key;
    // Worst case per request: input estimate + 1000 output tokens at $10/M ≈ $0.01; B = $0.05 → at most 4–5 admitted.
    await grantCredits(t, x.slug, "0.05");
    // Streams with slow events: every admitted request is still in flight (holding) while the others arrive.
    fake.setFault({ type: "slow", delayMs: 150 });
    const N = 30;
    const results = await Promise.all(
      Array.from({ length: N }, () =>
        chat(k, { model: "race-p/m1", max_tokens: 1000, stream: true, stream_options: { include_usage: true } }),
      ),
    );
    fake.setFault(undefined);
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 402);
    expect(ok.length + refused.length).toBe(N);
    // Each hold is at least 1000 output tokens × $10/M = 10 000 micro-USD, so at most ⌊50 000 / 10 000⌋ = 5 fit.
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(5);
    // c is 10 000 plus a few input tokens, so exactly ⌊50 000 / c⌋ = 4 are admitted: holds neither leak nor over-admit.
    expect(ok.length).toBe(4);
    for (const r of refused) expect(r.body.error.code).toBe("insufficient_credits");
    await t.app.flushLogs();
    const [acct] = await rows<{ b: string; s: string }>(
      t,
      sql`select (select balance_micro_usd::text from billing_accounts where org_id = ${x.org.id}) as b, (select sum(amount_micro_usd)::text from ledger_entries where org_id = ${x.org.id}) as s`,
    );
    expect(BigInt(acct!.b)).toBeGreaterThanOrEqual(0n);
    expect(acct!.b).toBe(acct!.s);
    const finalChunk = (text: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith("data: {"))
        .map((l) => JSON.parse(l.slice(6)))
        .find((c) => c.tollgate);
    const charged = ok.reduce((s, r) => s + BigInt(finalChunk(r.text).tollgate.cost_usd.replace(".", "")), 0n);
    expect(BigInt(acct!.b)).toBe(50_000n - charged);
    const b = (await x.owner.get(`/api/v1/orgs/${x.slug}/billing`)).body;
    expect(b.reservedMicroUsd).toBe("0");
  });

  it("randomized run: after many mixed requests (ok, errors, streams, test keys) ledger = balance = grants − Σ logged costs", async () => {
    await grantCredits(t, slug, "5");
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const jobs = [];
    for (let i = 0; i < 40; i++) {
      const kind = rnd();
      const words = Array.from({ length: 1 + Math.floor(rnd() * 30) }, (_, j) => `w${j}`).join(" ");
      if (kind < 0.1) fake.setFault({ type: "status", status: 500 }, 1);
      jobs.push(
        chat(kind < 0.2 ? testKey : key, {
          max_tokens: 1 + Math.floor(rnd() * 100),
          stream: rnd() < 0.5,
          messages: [{ role: "user", content: words }],
        }),
      );
    }
    await Promise.all(jobs);
    fake.setFault(undefined);
    await t.app.flushLogs();
    const [r] = await rows<{ grants: string; logged: string }>(
      t,
      sql`select
      (select sum(amount_micro_usd)::text from ledger_entries where org_id = ${orgId} and kind = 'grant') as grants,
      (select coalesce(sum(cost_micro_usd),0)::text from request_logs where org_id = ${orgId}) as logged`,
    );
    expect(await ledgerSum()).toBe(BigInt(r!.grants) - BigInt(r!.logged));
    expect(await accountBalance()).toBe(await ledgerSum());
  });

  it("a request blocked by the security policy never reaches upstream and is not charged; a redacted one is billed as usual", async () => {
    await grantCredits(t, slug, "1");
    const off = { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "off" };
    const put = await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
      pii: { ...off, card: "block", email: "redact" },
      promptInjection: { action: "off" },
      rules: [],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await t.app.flushLogs();
    const ledgerBefore = await ledgerSum();
    const upstreamBefore = fake.requests.length;

    const blocked = await chat(key, {
      max_tokens: 20,
      messages: [{ role: "user", content: "charge 4111 1111 1111 1111 please" }],
    });
    expect(blocked.status).toBe(403);
    expect(blocked.body.error.code).toBe("policy_violation");
    expect(fake.requests.length).toBe(upstreamBefore);
    await t.app.flushLogs();
    expect(await ledgerSum()).toBe(ledgerBefore);
    expect((await billing()).reservedMicroUsd).toBe("0");
    const [log] = await rows<{ c: string | null }>(
      t,
      sql`select cost_micro_usd::text as c from request_logs where id = ${blocked.headers.get("x-request-id")}`,
    );
    expect(log!.c).toBeNull();

    const redacted = await chat(key, {
      max_tokens: 20,
      messages: [{ role: "user", content: "mail ada@example.com about it" }],
    });
    expect(redacted.status, redacted.text).toBe(200);
    expect(JSON.stringify(fake.requests.at(-1))).not.toContain("ada@example.com");
    await t.app.flushLogs();
    const charged = cost(redacted.body.usage.prompt_tokens, redacted.body.usage.completion_tokens);
    expect(await ledgerSum()).toBe(ledgerBefore - charged);
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
          pii: off,
          promptInjection: { action: "off" },
          rules: [],
        })
      ).status,
    ).toBe(200);
  });

  it("project monthly spend cap: 402 spend_cap_reached once the cap cannot cover the worst case", async () => {
    expect(
      (await owner.patch(`/api/v1/orgs/${slug}/projects/main-app`, { monthlySpendCapUsd: "0.000001" })).status,
    ).toBe(200);
    // The cap travels with the key's project settings: the change reaches the gateway at once.
    const r = await chat(key, { max_tokens: 20 });
    expect(r.status).toBe(402);
    expect(r.body.error.code).toBe("spend_cap_reached");
    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/main-app`, { monthlySpendCapUsd: null })).status).toBe(
      200,
    );
  });
});
