/**
 * `tollgate billing verify` re-prices the request logs and checks balances:
 * requests go through the real gateway (mock, the built-in Anthropic provider
 * against a loopback fake that reports cache writes, a custom provider), the
 * request log keeps the usage components (`usage_details`), and verify prices
 * each charged row again with today's prices (operator overrides + markup, the
 * org's custom providers). A row charged below that is UNDER-BILLED with its
 * exact shortfall; an organization below zero is NEGATIVE (unless prepaid
 * credits are off). Amounts are exact micro-USD computed here.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestLogEntry } from "../src/gateway/request-log.js";
import { runBillingCommand } from "../src/modules/billing/billing.cli.js";
import { repriceLogs } from "../src/modules/billing/billing.reprice.js";
import { writeRequestLogs } from "../src/modules/logs/logs.writer.js";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits, rows } from "./helpers/fixtures.js";

const HOUR = 3_600_000;
const nextHour = () => new Date(Math.floor(Date.now() / HOUR) * HOUR + HOUR).toISOString();
/** USD per million tokens, as the overrides below: input $1, output $10, cache write $1.25; markup 10 %. */
const PRICES = { input: "1", output: "10", cacheWrite: "1.25" };
/** micro-USD of a request at PRICES (tokens × USD/M = micro-USD) × 1.1, rounded up once. */
const cost = (plainInput: bigint, cacheWrite: bigint, output: bigint) =>
  ((plainInput * 100n + cacheWrite * 125n + output * 1000n) * 110n + 9_999n) / 10_000n;

describe(`billing verify: re-priced request logs and negative balances (${storageKind})`, () => {
  let t: TestApp;
  let openai: FakeServer;
  let anthropic: FakeServer;
  const anthropicOpts: { apiKey: string; usage?: Record<string, unknown> } = { apiKey: "sk-ant" };

  async function verify(billing = t.config.billing) {
    const out: string[] = [];
    const code = await runBillingCommand(t.db, ["billing", "verify", "--through", nextHour()], (l) => out.push(l), {
      billing,
    });
    return { code, out: out.join("\n") };
  }

  /** A fresh organization with $1 of credits, one project and a live key. */
  async function newOrg() {
    const owner = await t.signUp();
    const org = await createOrg(owner, {});
    await grantCredits(t, org.slug, "1");
    expect((await owner.post(`/api/v1/orgs/${org.slug}/projects`, { name: "App", slug: "main-app" })).status).toBe(201);
    const key = (
      await owner.post(`/api/v1/orgs/${org.slug}/projects/main-app/keys`, { name: "live", environment: "live" })
    ).body.key as string;
    return { owner, slug: org.slug as string, orgId: org.id as string, key };
  }

  const chat = (key: string, body: Record<string, unknown>) =>
    t.anon.post(
      "/v1/chat/completions",
      { messages: [{ role: "user", content: "hello there" }], ...body },
      { authorization: `Bearer ${key}` },
    );

  /** The org's one charged log row. */
  async function logOf(orgId: string) {
    const [log] = await rows<{
      id: string;
      project_id: string;
      model: string;
      cost: string;
      details: unknown;
      hour: string;
    }>(
      t,
      sql`select id, project_id, model_served as model, cost_micro_usd::text as cost, usage_details as details, date_trunc('hour', created_at)::text as hour from request_logs where org_id = ${orgId}`,
    );
    return log!;
  }

  /**
   * Moves one logged charge by `delta` (negative: under-bills it) and keeps the other checks true:
   * the hourly report row moves with it and a usage ledger row (the ledger is append-only) balances it.
   */
  async function shiftCharge(
    orgId: string,
    log: { id: string; project_id: string; model: string; hour: string },
    delta: bigint,
  ) {
    await t.db.execute(
      sql`update request_logs set cost_micro_usd = cost_micro_usd + ${delta.toString()}::bigint where id = ${log.id}`,
    );
    await t.db.execute(
      sql`update billing_usage_hourly set cost_micro_usd = cost_micro_usd + ${delta.toString()}::bigint where project_id = ${log.project_id} and model = ${log.model} and hour = ${log.hour}::timestamptz`,
    );
    await t.db.execute(
      sql`insert into ledger_entries (org_id, kind, amount_micro_usd, project_id, period_start, requests) values (${orgId}, 'usage', ${(-delta).toString()}, ${log.project_id}, ${log.hour}::timestamptz, 0)`,
    );
  }

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIFake({ apiKey: "sk-oa" }), startAnthropicFake(anthropicOpts)]);
    t = await startTestApp({
      env: {
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: anthropic.url,
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": PRICES, "anthropic/claude-sonnet-4-0": PRICES }),
        TOLLGATE_MARKUP_PERCENT: "10",
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  let a: Awaited<ReturnType<typeof newOrg>>;

  it("a request served and charged normally passes: re-priced, none under-billed, no negative balance", async () => {
    a = await newOrg();
    expect((await chat(a.key, { model: "mock/echo" })).status).toBe(200);
    await t.app.flushLogs();
    const log = await logOf(a.orgId);
    expect(log.model).toBe("mock/echo");
    expect(BigInt(log.cost) > 0n).toBe(true);
    // The mock reports no cache writes, audio, images, reasoning or searches: nothing to keep.
    expect(log.details).toBeNull();
    const r = await verify();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        `ok {7}${a.slug}/main-app  1 requests re-priced at today's prices, none under-billed \\(\\d{4}-\\d\\d-\\d\\dT\\d\\d:00Z to `,
      ),
    );
    expect(r.out).toMatch(/No request charged below today's price \(\d+ re-priced\)\./);
    expect(r.out).toContain("No organization has a negative balance.");
  });

  it("a request charged below today's price is UNDER-BILLED with the exact shortfall (exit 1); a charge above it is not", async () => {
    const log = await logOf(a.orgId);
    const charged = BigInt(log.cost);
    await shiftCharge(a.orgId, log, -7n);
    try {
      const r = await verify();
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `UNDER-BILLED ${a.slug}/main-app  1 of 1 requests charged below today's price, short $0.000007 in total`,
      );
      const dollars = (m: bigint) => `$0.${m.toString().padStart(6, "0")}`;
      expect(r.out).toMatch(
        new RegExp(
          `request ${log.id} \\(mock/echo, [^)]+\\): charged \\${dollars(charged - 7n)}, re-priced \\${dollars(charged)}`,
        ),
      );
      expect(r.out).toMatch(/Under-billed requests in 1 of \d+ projects/);
      // Only this check failed: balances, the hourly report and the logs' sums still agree.
      expect(r.out).toMatch(/All \d+ balances equal their ledgers\./);
      expect(r.out).toMatch(/Usage reconciles for all \d+ organizations/);
    } finally {
      await shiftCharge(a.orgId, log, 7n);
    }
    // Above the re-priced cost (an estimate that rounded up) is fine.
    await shiftCharge(a.orgId, log, 5n);
    try {
      const r = await verify();
      expect(r.code, r.out).toBe(0);
    } finally {
      await shiftCharge(a.orgId, log, -5n);
    }
    expect((await verify()).code).toBe(0);
  });

  it("an organization below zero is flagged NEGATIVE (exit 1), unless prepaid credits are off", async () => {
    const owner = await t.signUp();
    const org = await createOrg(owner, {});
    await t.db.execute(
      sql`insert into ledger_entries (org_id, kind, amount_micro_usd, note) values (${org.id}, 'adjustment', -1234, 'test debt')`,
    );
    try {
      const r = await verify();
      expect(r.code).toBe(1);
      expect(r.out).toContain(`NEGATIVE ${org.slug}  balance -$0.001234`);
      expect(r.out).toContain("1 organization has a negative balance.");
      expect(r.out).toMatch(/All \d+ balances equal their ledgers\./);
      const off = await verify({ ...t.config.billing, credits: false });
      expect(off.code, off.out).toBe(0);
      expect(off.out).toContain("Negative balances not checked: prepaid credits are off");
      expect(off.out).not.toContain("NEGATIVE");
    } finally {
      await t.db.execute(
        sql`insert into ledger_entries (org_id, kind, amount_micro_usd, note) values (${org.id}, 'adjustment', 1234, 'test debt repaid')`,
      );
    }
    expect((await verify()).code).toBe(0);
  });

  it("a cache-write request keeps its components in usage_details and re-prices at the cache-write rate", async () => {
    const c = await newOrg();
    // 100 plain input tokens, 2 000 written to the cache (500 of them for one hour; no 1-hour price set, so
    // the cache-write rate), 50 output: $1.25/M on the writes, not $1/M.
    anthropicOpts.usage = {
      input_tokens: 100,
      cache_creation_input_tokens: 2_000,
      cache_creation: { ephemeral_5m_input_tokens: 1_500, ephemeral_1h_input_tokens: 500 },
      cache_read_input_tokens: 0,
      output_tokens: 50,
    };
    try {
      const res = await chat(c.key, { model: "anthropic/claude-sonnet-4-0", max_tokens: 100 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    } finally {
      delete anthropicOpts.usage;
    }
    await t.app.flushLogs();
    const log = await logOf(c.orgId);
    const expected = cost(100n, 2_000n, 50n);
    expect(expected).toBe(3_410n);
    expect(BigInt(log.cost)).toBe(expected);
    expect(log.details).toEqual({ cacheWriteInputTokens: 2_000, cacheWrite1hInputTokens: 500 });
    const r = await verify();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`ok       ${c.slug}/main-app  1 requests re-priced at today's prices, none under-billed`);
    // One micro-dollar less is caught: the re-priced amount is the cache-write price exactly
    // (at the plain input rate it would be $0.002860, below even the lowered charge).
    await shiftCharge(c.orgId, log, -1n);
    try {
      const low = await verify();
      expect(low.code).toBe(1);
      expect(low.out).toContain(
        `UNDER-BILLED ${c.slug}/main-app  1 of 1 requests charged below today's price, short $0.000001 in total`,
      );
      expect(low.out).toMatch(
        new RegExp(
          `request ${log.id} \\(anthropic/claude-sonnet-4-0, [^)]+\\): charged \\$0\\.003409, re-priced \\$0\\.003410`,
        ),
      );
    } finally {
      await shiftCharge(c.orgId, log, 1n);
    }
  });

  it("a custom provider's request re-prices at its own prices; once the provider is deleted its rows are not re-priced", async () => {
    const d = await newOrg();
    const prov = await d.owner.post(`/api/v1/orgs/${d.slug}/providers`, {
      name: "Own",
      slug: "own",
      format: "openai",
      baseUrl: `${openai.url}/v1`,
      apiKey: "sk-oa",
      models: [{ id: "gpt-4o", inputPricePerMillion: "2.5", outputPricePerMillion: "10" }],
    });
    expect(prov.status, JSON.stringify(prov.body)).toBe(201);
    expect((await chat(d.key, { model: "own/gpt-4o", max_tokens: 50 })).status).toBe(200);
    await t.app.flushLogs();
    const log = await logOf(d.orgId);
    expect(BigInt(log.cost) > 0n).toBe(true);
    const before = await verify();
    expect(before.code, before.out).toBe(0);
    expect(before.out).toContain(
      `ok       ${d.slug}/main-app  1 requests re-priced at today's prices, none under-billed`,
    );
    await shiftCharge(d.orgId, log, -1n);
    try {
      expect((await verify()).out).toContain(
        `UNDER-BILLED ${d.slug}/main-app  1 of 1 requests charged below today's price, short $0.000001 in total`,
      );
    } finally {
      await shiftCharge(d.orgId, log, 1n);
    }
    expect((await d.owner.delete(`/api/v1/orgs/${d.slug}/providers/own`)).status).toBe(204);
    const after = await verify();
    expect(after.code, after.out).toBe(0);
    expect(after.out).toContain(`note     ${d.slug}/main-app  1 requests not re-priced: custom provider "own" deleted`);
  });

  it("the writer stores usage_details on its insert path too, and re-pricing pages through ties in created_at", async () => {
    const e = await newOrg();
    const [p] = await rows<{ id: string }>(t, sql`select id from projects where org_id = ${e.orgId}`);
    const at = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR + 60_000);
    const entry = (id: string, usage: RequestLogEntry["usage"], costMicroUsd: bigint): RequestLogEntry => ({
      id,
      orgId: e.orgId,
      projectId: p!.id,
      keyId: "k",
      createdAt: at,
      endpoint: "chat",
      modelRequested: "mock/echo",
      modelServed: "mock/echo",
      provider: "mock",
      status: 200,
      outcome: "ok",
      errorCode: null,
      errorSource: null,
      usage,
      costMicroUsd,
      latencyMs: 1,
      ttftMs: null,
      attempts: [],
      clientIp: "127.0.0.1",
      user: null,
      stream: false,
      requestBody: null,
      responseBody: null,
    });
    const fair = cost(100n, 1_000n, 10n);
    const entries = Array.from({ length: 5 }, (_, i) =>
      entry(
        `tie-${i}`,
        {
          inputTokens: 1_100,
          cachedInputTokens: 0,
          outputTokens: 10,
          cacheWriteInputTokens: 1_000,
          reasoningTokens: 0,
        },
        i === 3 ? fair - 2n : fair,
      ),
    );
    await writeRequestLogs(t.db, entries.slice(0, 1));
    // The first row exists already: on PGlite the COPY fails and the batch goes through the JSON insert.
    await writeRequestLogs(t.db, entries);
    const stored = await rows<{ id: string; d: unknown }>(
      t,
      sql`select id, usage_details as d from request_logs where org_id = ${e.orgId} order by id`,
    );
    expect(stored).toEqual(entries.map((x) => ({ id: x.id, d: { cacheWriteInputTokens: 1_000 } })));
    const [r] = await repriceLogs(
      t.db,
      [
        {
          orgId: e.orgId,
          projectId: p!.id,
          from: new Date(at.getTime() - 60_000),
          through: new Date(at.getTime() + HOUR),
        },
      ],
      t.config.billing,
      { batchSize: 2 },
    );
    expect(r).toMatchObject({ repriced: 5, underBilled: 1, shortfallMicroUsd: 2n });
    expect(r!.examples).toEqual([
      {
        requestId: "tie-3",
        createdAt: expect.any(String),
        model: "mock/echo",
        chargedMicroUsd: fair - 2n,
        repricedMicroUsd: fair,
      },
    ]);
  });
});
