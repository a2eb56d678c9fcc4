/**
 * Billing integrity through real HTTP, against the built-in OpenAI and
 * Anthropic providers (pointed at loopback fakes that report the usage a test
 * scripts): every model the price library knows is priced and an unknown one
 * refused; the hold is a true upper bound (UTF-8 bytes of everything sent, n ×
 * the output limit, the model's context window when no limit is set, the
 * dearest fallback); the charge is the provider's reported usage priced with
 * every component (cache writes, reasoning), never capped by the hold; a
 * fallback is billed at the model that answered; test keys never reach a paid
 * built-in model. Amounts are exact micro-USD computed here from the price
 * library's published prices.
 */
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { createOrg, grantCredits, joinOrg, rows } from "./helpers/fixtures.js";

/** micro-USD of tokens at USD-per-million prices (= micro-USD per token), summed, rounded up once (the product's rule). */
function micro(...parts: Array<[tokens: number, usdPerMillion: number]>): bigint {
  // Prices here have at most 3 decimals: work in thousandths of a micro-USD to stay exact.
  let n = 0n;
  for (const [tokens, usd] of parts) n += BigInt(tokens) * BigInt(Math.round(usd * 1000));
  return (n + 999n) / 1000n;
}
const usd = (m: bigint) =>
  `${m < 0n ? "-" : ""}${(m < 0n ? -m : m) / 1_000_000n}.${((m < 0n ? -m : m) % 1_000_000n).toString().padStart(6, "0")}`;

const modes: Array<{ holds: string; env: Record<string, string> }> = [{ holds: "in process", env: {} }];
if (TEST_REDIS_URL)
  modes.push({
    holds: "in Redis",
    env: { REDIS_URL: TEST_REDIS_URL, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` },
  });
else
  describe.skip("billing integrity with credit holds in Redis (needs TEST_REDIS_URL)", () =>
    it("skipped", () => undefined));

describe.each(modes)(`billing integrity (${storageKind}, credit holds $holds)`, ({ env }) => {
  let t: TestApp;
  let base: string;
  let openai: FakeServer;
  let anthropic: FakeServer;
  let down: FakeServer;
  const openaiOpts: { apiKey: string; usage?: Record<string, unknown> } = { apiKey: "sk-oa" };
  const anthropicOpts: { apiKey: string; usage?: Record<string, unknown> } = { apiKey: "sk-ant" };

  beforeAll(async () => {
    [openai, anthropic, down] = await Promise.all([
      startOpenAIFake(openaiOpts),
      startAnthropicFake(anthropicOpts),
      startOpenAIFake({ apiKey: "sk-down" }),
    ]);
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-oa",
        OPENAI_BASE_URL: `${openai.url}/v1`,
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: anthropic.url,
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        ...env,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([openai?.close(), anthropic?.close(), down?.close()]);
  });

  /** A fresh organization (balance 0) with one project and a live and a test key. */
  async function newOrg(project: Record<string, unknown> = {}) {
    const owner = await t.signUp();
    const org = await createOrg(owner, {});
    const p = await owner.post(`/api/v1/orgs/${org.slug}/projects`, { name: "App", slug: "main-app", ...project });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const live = (
      await owner.post(`/api/v1/orgs/${org.slug}/projects/main-app/keys`, { name: "live", environment: "live" })
    ).body.key as string;
    const test = (
      await owner.post(`/api/v1/orgs/${org.slug}/projects/main-app/keys`, { name: "test", environment: "test" })
    ).body.key as string;
    return { owner, slug: org.slug as string, orgId: org.id as string, live, test };
  }

  async function call(key: string, body: Record<string, unknown>, path = "/v1/chat/completions") {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
      },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? JSON.parse(text) : null,
      cost: res.headers.get("x-tollgate-cost-usd"),
    };
  }

  const balance = async (orgId: string) =>
    BigInt(
      (
        await rows<{ b: string }>(
          t,
          sql`select coalesce((select balance_micro_usd::text from billing_accounts where org_id = ${orgId}), '0') as b`,
        )
      )[0]!.b,
    );

  it("every model the price library knows is priced (not only a featured list); an unknown model is refused with model_not_priced", async () => {
    const o = await newOrg();
    for (const model of ["openai/o1-pro", "gpt-5", "openai/gpt-4o-mini-2024-07-18", "chatgpt-4o-latest"]) {
      const r = await call(o.live, { model, max_completion_tokens: 100 });
      expect(r.status, model).toBe(402);
      expect(r.body.error.code, model).toBe("insufficient_credits");
    }
    await grantCredits(t, o.slug, "1");
    // o1-pro at $150 / $600 per million tokens.
    openaiOpts.usage = { prompt_tokens: 20, completion_tokens: 100, total_tokens: 120 };
    const r = await call(o.live, { model: "openai/o1-pro", max_completion_tokens: 100 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.cost).toBe(usd(micro([20, 150], [100, 600])));
    expect(r.cost).toBe("0.063000");

    for (const model of ["openai/gpt-unknown-zz", "gpt-unknown-zz"]) {
      const u = await call(o.live, { model });
      expect(u.status, model).toBe(400);
      expect(u.body.error, model).toMatchObject({
        type: "invalid_request_error",
        code: "model_not_priced",
        param: "model",
      });
      expect(u.body.error.message).toMatch(/no price/);
    }
    const a = await call(o.live, { model: "openai/gpt-unknown-zz", max_tokens: 10 }, "/v1/messages");
    expect(a.status).toBe(400);
    expect(a.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", code: "model_not_priced" } });
  });

  it("n: the hold covers every choice, the charge is the reported usage; n over 128 is refused", async () => {
    const o = await newOrg();
    // gpt-4o-mini: $0.15 / $0.60. Input bound for "hi": 16 + 8 + 2 bytes = 26 tokens.
    const hold = (n: number) => micro([26, 0.15], [n * 100, 0.6]);
    await grantCredits(t, o.slug, usd(hold(1)));
    expect((await call(o.live, { model: "openai/gpt-4o-mini", n: 4, max_tokens: 100 })).status).toBe(402);
    await grantCredits(t, o.slug, usd(hold(4) - hold(1)));
    openaiOpts.usage = { prompt_tokens: 10, completion_tokens: 400, total_tokens: 410 };
    const r = await call(o.live, { model: "openai/gpt-4o-mini", n: 4, max_tokens: 100 });
    expect(r.status).toBe(200);
    expect(r.cost).toBe(usd(micro([10, 0.15], [400, 0.6])));
    await t.app.flushLogs();
    expect(await balance(o.orgId)).toBe(hold(4) - micro([10, 0.15], [400, 0.6]));
    for (const n of [129, 1_000_000]) {
      const bad = await call(o.live, { model: "openai/gpt-4o-mini", n });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: "invalid_n", param: "n" });
    }
  });

  it("a 400 KB json_schema and 20k CJK characters count in full in the hold; the charge is what the provider reported", async () => {
    const o = await newOrg();
    const schema = {
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: 8_000 }, (_, i) => [`field_${i}`, { type: "string", description: "x".repeat(20) }]),
      ),
    };
    const response_format = { type: "json_schema", json_schema: { name: "big", schema } };
    expect(JSON.stringify(response_format).length).toBeGreaterThan(400_000);
    // Every schema byte is an input token in the hold: over $0.06 at $0.15 per million.
    await grantCredits(t, o.slug, "0.05");
    const refused = await call(o.live, { model: "openai/gpt-4o-mini", response_format, max_tokens: 10 });
    expect(refused.status).toBe(402);
    const heldUsd = Number(/may cost up to \$(\d+\.\d+)/.exec(refused.body.error.message)![1]);
    expect(heldUsd).toBeGreaterThanOrEqual((Buffer.byteLength(JSON.stringify(response_format)) * 0.15) / 1e6);
    await grantCredits(t, o.slug, "0.05");
    openaiOpts.usage = { prompt_tokens: 100_000, completion_tokens: 10, total_tokens: 100_010 };
    const r = await call(o.live, { model: "openai/gpt-4o-mini", response_format, max_tokens: 10 });
    expect(r.status).toBe(200);
    expect(r.cost).toBe(usd(micro([100_000, 0.15], [10, 0.6])));

    // 20 000 CJK characters are 60 000 UTF-8 bytes: gpt-4o ($2.50 / $10) holds over $0.15.
    const cjk = "漢字".repeat(10_000);
    const o2 = await newOrg();
    await grantCredits(t, o2.slug, "0.10");
    const no = await call(o2.live, {
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: cjk }],
      max_tokens: 100,
    });
    expect(no.status).toBe(402);
    await grantCredits(t, o2.slug, "0.90");
    openaiOpts.usage = { prompt_tokens: 30_000, completion_tokens: 100, total_tokens: 30_100 };
    const yes = await call(o2.live, {
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: cjk }],
      max_tokens: 100,
    });
    expect(yes.status).toBe(200);
    expect(yes.cost).toBe(usd(micro([30_000, 2.5], [100, 10])));
    expect(yes.cost).toBe("0.076000");
  });

  it("a reasoning model without an output limit holds its whole context window and is charged the 20,000 tokens it produced", async () => {
    const o = await newOrg();
    // o3-mini: $1.10 / $4.40, 200k context: the hold is over $0.88.
    await grantCredits(t, o.slug, "0.50");
    const refused = await call(o.live, { model: "openai/o3-mini" });
    expect(refused.status).toBe(402);
    expect(refused.body.error.message).toMatch(/may cost up to \$0\.88/);
    await grantCredits(t, o.slug, "0.50");
    openaiOpts.usage = {
      prompt_tokens: 12,
      completion_tokens: 20_000,
      total_tokens: 20_012,
      completion_tokens_details: { reasoning_tokens: 18_000 },
    };
    const r = await call(o.live, { model: "openai/o3-mini" });
    expect(r.status).toBe(200);
    expect(r.cost).toBe(usd(micro([12, 1.1], [20_000, 4.4])));
    expect(r.cost).toBe("0.088014");
  });

  it("a fallback to a dearer model is held at the dearer price and billed at the model that answered", async () => {
    const o = await newOrg({ fallbackModels: ["openai/gpt-4o"] });
    const prov = await o.owner.post(`/api/v1/orgs/${o.slug}/providers`, {
      name: "Down",
      slug: "down",
      format: "openai",
      baseUrl: `${down.url}/v1`,
      apiKey: "sk-down",
      models: [{ id: "m", inputPricePerMillion: "0.1", outputPricePerMillion: "0.1" }],
    });
    expect(prov.status, JSON.stringify(prov.body)).toBe(201);
    // Primary down/m holds 26 × 0.1 + 100 × 0.1 → 13 µ$; the gpt-4o fallback 26 × 2.5 + 100 × 10 → 1 065 µ$.
    await grantCredits(t, o.slug, usd(micro([26, 2.5], [100, 10]) - 1n));
    expect((await call(o.live, { model: "down/m", max_tokens: 100 })).status).toBe(402);
    await grantCredits(t, o.slug, "0.000001");
    down.setFault({ type: "status", status: 401, message: "bad key" }, 1);
    openaiOpts.usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
    const r = await call(o.live, { model: "down/m", max_tokens: 100 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.headers.get("x-tollgate-model")).toBe("openai/gpt-4o");
    expect(r.cost).toBe(usd(micro([10, 2.5], [20, 10])));
    await t.app.flushLogs();
    const [log] = await rows<{ m: string; c: string }>(
      t,
      sql`select model_served as m, cost_micro_usd::text as c from request_logs where id = ${r.headers.get("x-request-id")}`,
    );
    expect(log).toEqual({ m: "openai/gpt-4o", c: micro([10, 2.5], [20, 10]).toString() });
  });

  it("Anthropic cache writes (5-minute and 1-hour) and cache reads are charged at their own rates", async () => {
    const o = await newOrg();
    await grantCredits(t, o.slug, "1");
    // claude-sonnet-4-0: input $3, 5-minute cache write $3.75, 1-hour cache write $6, cache read $0.30, output $15.
    anthropicOpts.usage = {
      input_tokens: 100,
      cache_creation_input_tokens: 2_000,
      cache_creation: { ephemeral_5m_input_tokens: 1_500, ephemeral_1h_input_tokens: 500 },
      cache_read_input_tokens: 1_000,
      output_tokens: 50,
    };
    const expected = usd(micro([100, 3], [1_500, 3.75], [500, 6], [1_000, 0.3], [50, 15]));
    expect(expected).toBe("0.009975");
    const prompt = "x".repeat(4_000);
    const viaMessages = await call(
      o.live,
      { model: "anthropic/claude-sonnet-4-0", max_tokens: 100, messages: [{ role: "user", content: prompt }] },
      "/v1/messages",
    );
    expect(viaMessages.status, JSON.stringify(viaMessages.body)).toBe(200);
    expect(viaMessages.cost).toBe(expected);
    const viaChat = await call(o.live, {
      model: "anthropic/claude-sonnet-4-0",
      max_tokens: 100,
      messages: [{ role: "user", content: prompt }],
    });
    expect(viaChat.status).toBe(200);
    expect(viaChat.cost).toBe(expected);
  });

  it("test keys never reach a paid built-in model; on the org's own provider they are held and capped like live keys", async () => {
    const o = await newOrg({ monthlySpendCapUsd: "0.000010" });
    const paid = await call(o.test, { model: "openai/gpt-4o-mini" });
    expect(paid.status).toBe(403);
    expect(paid.body.error).toMatchObject({
      type: "permission_error",
      code: "test_key_model_not_allowed",
      param: "model",
    });
    const free = await call(o.test, { model: "mock/echo" });
    expect(free.status).toBe(200);
    expect(free.cost).toBe("0.000000");
    const prov = await o.owner.post(`/api/v1/orgs/${o.slug}/providers`, {
      name: "Own",
      slug: "own",
      format: "openai",
      baseUrl: `${openai.url}/v1`,
      apiKey: "sk-oa",
      models: [{ id: "gpt-4o", inputPricePerMillion: "2.5", outputPricePerMillion: "10" }],
    });
    expect(prov.status).toBe(201);
    await grantCredits(t, o.slug, "1");
    const capped = await call(o.test, { model: "own/gpt-4o", max_tokens: 100 });
    expect(capped.status).toBe(402);
    expect(capped.body.error.code).toBe("spend_cap_reached");
  });

  it("a member's key never learns the organization's balance; an owner's or admin's key does", async () => {
    const o = await newOrg();
    const member = await joinOrg(t, o.owner, o.slug, "member");
    expect(
      (await o.owner.put(`/api/v1/orgs/${o.slug}/projects/main-app/members`, { userIds: [member.user!.id] })).status,
    ).toBe(200);
    const memberKey = (
      await member.post(`/api/v1/orgs/${o.slug}/projects/main-app/keys`, { name: "mine", environment: "live" })
    ).body.key as string;
    await grantCredits(t, o.slug, "0.000100");
    openaiOpts.usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 };
    const mine = await call(memberKey, { model: "openai/gpt-4o-mini", max_tokens: 10 });
    expect(mine.status).toBe(200);
    expect(mine.cost).toBe(usd(micro([10, 0.15], [10, 0.6])));
    expect(mine.headers.get("x-tollgate-balance-usd")).toBeNull();
    const stream = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${memberKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "openai/gpt-4o-mini",
        max_tokens: 10,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    const last = (await stream.text())
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)))
      .find((c) => c.tollgate);
    expect(last.tollgate.cost_usd).toBe(usd(micro([10, 0.15], [10, 0.6])));
    expect(last.tollgate.balance_usd).toBeUndefined();
    const refused = await call(memberKey, { model: "openai/gpt-4o-mini", max_tokens: 1_000 });
    expect(refused.status).toBe(402);
    expect(refused.body.error.message).toMatch(/has less available/);
    expect(refused.body.error.message).not.toMatch(/has \$/);
    const owners = await call(o.live, { model: "openai/gpt-4o-mini", max_tokens: 1_000 });
    expect(owners.body.error.message).toMatch(/has \$0\.0000\d\d available/);
    expect(
      (await call(o.live, { model: "openai/gpt-4o-mini", max_tokens: 10 })).headers.get("x-tollgate-balance-usd"),
    ).toMatch(/^0\.0000\d\d$/);
  });

  it("usage beyond the hold is charged in full and counted; the balance dips by that overrun only and the next request is refused", async () => {
    const o = await newOrg();
    const before = Number(/tollgate_billing_overruns_total (\d+)/.exec((await t.anon.get("/metrics")).body)?.[1] ?? 0);
    // Hold for "hi" with max_tokens 10 on gpt-4o-mini: 26 × 0.15 + 10 × 0.6 → 10 µ$.
    const hold = micro([26, 0.15], [10, 0.6]);
    await grantCredits(t, o.slug, usd(hold));
    openaiOpts.usage = { prompt_tokens: 1_000, completion_tokens: 10, total_tokens: 1_010 };
    const charge = micro([1_000, 0.15], [10, 0.6]);
    const r = await call(o.live, { model: "openai/gpt-4o-mini", max_tokens: 10 });
    expect(r.status).toBe(200);
    expect(r.cost).toBe(usd(charge));
    expect(r.headers.get("x-tollgate-balance-usd")).toBe(usd(hold - charge));
    const next = await call(o.live, { model: "openai/gpt-4o-mini", max_tokens: 10 });
    expect(next.status).toBe(402);
    await t.app.flushLogs();
    expect(await balance(o.orgId)).toBe(hold - charge);
    const after = Number(/tollgate_billing_overruns_total (\d+)/.exec((await t.anon.get("/metrics")).body)?.[1] ?? 0);
    expect(after).toBe(before + 1);
  });
});

describe(`unpriced models allowed by the operator (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    t = await startTestApp({
      env: { OPENAI_API_KEY: "sk-oa", OPENAI_BASE_URL: `${fake.url}/v1`, TOLLGATE_ALLOW_UNPRICED_MODELS: "true" },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it("serves a model no price covers at cost 0, to live and test keys", async () => {
    const owner = await t.signUp();
    const org = await createOrg(owner, {});
    expect((await owner.post(`/api/v1/orgs/${org.slug}/projects`, { name: "App", slug: "main-app" })).status).toBe(201);
    for (const environment of ["live", "test"]) {
      const key = (
        await owner.post(`/api/v1/orgs/${org.slug}/projects/main-app/keys`, { name: environment, environment })
      ).body.key as string;
      const res = await t.app.server.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload: JSON.stringify({ model: "openai/gpt-unknown-zz", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers["x-tollgate-cost-usd"]).toBe("0.000000");
    }
  });
});
