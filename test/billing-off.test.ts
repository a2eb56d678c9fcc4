/**
 * Prepaid credits turned off (TOLLGATE_BILLING=off), over HTTP: an organization
 * with no balance calls a priced model and is served, charged the exact cost
 * (reported in the headers, the request log and the usage report); project
 * spend caps still refuse with 402 `spend_cap_reached`; the billing summary
 * says credits are off, and no low-balance alert can be set.
 * `mock/echo` is priced by the operator at $1 / $2 per million tokens.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, rows } from "./helpers/fixtures.js";

/** $1/M input, $2/M output, no markup, rounded up once. */
const cost = (input: number, output: number) =>
  (BigInt(input) * 1_000_000n + BigInt(output) * 2_000_000n + 999_999n) / 1_000_000n;
const usd = (micro: bigint) => `${micro / 1_000_000n}.${(micro % 1_000_000n).toString().padStart(6, "0")}`;

describe(`prepaid credits off (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let slug: string;
  let orgId: string;

  const keyFor = async (project: string, body: Record<string, unknown> = {}) => {
    const p = await owner.post(`/api/v1/orgs/${slug}/projects`, { name: project, slug: project, ...body });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    return (await owner.post(`/api/v1/orgs/${slug}/projects/${project}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  };
  const chat = (key: string, content: string) =>
    t.anon.post(
      "/v1/chat/completions",
      { model: "mock/echo", max_tokens: 50, messages: [{ role: "user", content }] },
      { authorization: `Bearer ${key}` },
    );

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        TOLLGATE_BILLING: "off",
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "2" } }),
      },
    });
    owner = await t.signUp();
    const org = await createOrg(owner);
    slug = org.slug;
    orgId = org.id;
  });
  afterAll(() => t?.close());

  it("a new organization (balance 0) is served a priced model and charged its exact cost", async () => {
    const key = await keyFor("main-app");
    const r = await chat(key, "hello without credits");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const expected = cost(r.body.usage.prompt_tokens, r.body.usage.completion_tokens);
    expect(expected).toBeGreaterThan(0n);
    expect(r.headers["x-tollgate-cost-usd"]).toBe(usd(expected));

    await t.app.flushLogs();
    const [log] = await rows<{ c: string }>(
      t,
      sql`select cost_micro_usd::text as c from request_logs where id = ${r.headers["x-request-id"] as string}`,
    );
    expect(log!.c).toBe(expected.toString());
    const u = await owner.get(`/api/v1/orgs/${slug}/billing/usage`);
    expect(u.status).toBe(200);
    expect(u.body.rows).toHaveLength(1);
    expect(u.body.rows[0]).toMatchObject({
      projectSlug: "main-app",
      model: "mock/echo",
      requests: 1,
      costMicroUsd: expected.toString(),
    });
    expect(u.body.totals.costMicroUsd).toBe(expected.toString());
    const b = await owner.get(`/api/v1/orgs/${slug}/billing`);
    expect(b.body.monthSpendMicroUsd).toBe(expected.toString());
  });

  it("a project's monthly spend cap still answers 402 spend_cap_reached", async () => {
    const key = await keyFor("capped", { monthlySpendCapUsd: "0.000001" });
    const r = await chat(key, "over the cap");
    expect(r.status).toBe(402);
    expect(r.body.error).toMatchObject({ code: "spend_cap_reached", source: "gateway" });
  });

  it("the billing summary says credits are off (documented in OpenAPI)", async () => {
    const b = await owner.get(`/api/v1/orgs/${slug}/billing`);
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ creditsEnabled: false, stripeConfigured: false });
    expect(b.body.addCredits).toMatch(/credits are off/);
    const doc = await t.anon.get("/api/openapi.json");
    const schema = doc.body.paths["/api/v1/orgs/{org}/billing"].get.responses["200"].content["application/json"].schema;
    expect(schema.properties.creditsEnabled.type).toBe("boolean");
    expect(schema.required).toContain("creditsEnabled");
  });

  it("no low-balance alert without a balance; budget alerts still work", async () => {
    const low = await owner.put(`/api/v1/orgs/${slug}/billing/alerts`, {
      lowBalanceUsd: "5",
      monthlyBudgetUsd: null,
      webhookUrl: null,
    });
    expect(low.status).toBe(400);
    expect(low.body.error.code).toBe("LOW_BALANCE_ALERT_UNAVAILABLE");
    const budget = await owner.put(`/api/v1/orgs/${slug}/billing/alerts`, {
      lowBalanceUsd: null,
      monthlyBudgetUsd: "10",
      webhookUrl: null,
    });
    expect(budget.status, JSON.stringify(budget.body)).toBe(200);
    expect(budget.body).toMatchObject({ lowBalanceUsd: null, monthlyBudgetUsd: "10.000000" });
    // A threshold stored while credits were on never fires once they are off (the balance only falls).
    await t.db.execute(sql`update billing_settings set low_balance_alert_micro_usd = 5000000 where org_id = ${orgId}`);
    expect((await chat(await keyFor("later"), "spend a little")).status).toBe(200);
    await t.app.flushLogs();
    expect(
      await rows(t, sql`select event from billing_events_fired where org_id = ${orgId} and event = 'low_balance'`),
    ).toEqual([]);
  });
});
