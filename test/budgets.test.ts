/**
 * Key budgets and end-user budgets, through real HTTP, with the cap counters
 * in this process and (with TEST_REDIS_URL) in Redis: a key's budget over its
 * period is held like the project's cap — requests in flight count, so many
 * at once never spend past it — and refused with 402 key_budget_exceeded; an
 * end user's budget counts the requests naming that `user` only; the key
 * list shows each key's spend against its budget; raising a budget applies
 * at once. `mock/echo` is priced through TOLLGATE_PRICE_OVERRIDES.
 */
import { randomBytes } from "node:crypto";
import { parseUsd } from "../src/platform/money.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { grantCredits, team } from "./helpers/fixtures.js";

const micro = (usd: string | null) => (usd ? parseUsd(usd) : 0n);

const variants = [
  { name: "in this process", env: {} as Record<string, string> },
  ...(TEST_REDIS_URL
    ? [
        {
          name: "in Redis",
          env: { REDIS_URL: TEST_REDIS_URL, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` },
        },
      ]
    : []),
];

describe.each(variants)(`budgets counted $name (${storageKind})`, ({ env }) => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let slug: string;
  const keys = () => `/api/v1/orgs/${slug}/projects/main-app/keys`;
  const chat = (key: string, user?: string) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "mock/echo",
        max_tokens: 50,
        ...(user ? { user } : {}),
        messages: [{ role: "user", content: "count my spend please" }],
      }),
    }).then(async (r) => ({
      status: r.status,
      cost: micro(r.headers.get("x-tollgate-cost-usd")),
      body: (await r.json()) as any,
    }));

  beforeAll(async () => {
    t = await startTestApp({
      env: { TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "10", output: "100" } }), ...env },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Budget Co"));
    await grantCredits(t, slug, "100");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "main-app", slug: "main-app" })).status).toBe(
      201,
    );
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
  });

  it("a key's budget refuses what would pass it, even with many requests at once; other keys go on", async () => {
    const budget = 10_000n; // $0.01
    const created = await owner.post(keys(), {
      name: "capped",
      environment: "live",
      budgetUsd: "0.01",
      budgetPeriod: "day",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.budget).toMatchObject({ amountUsd: "0.010000", period: "day", spentUsd: "0.000000" });
    const other = (await owner.post(keys(), { name: "free-running", environment: "live" })).body.key as string;

    const results = await Promise.all(Array.from({ length: 60 }, () => chat(created.body.key)));
    const charged = results.reduce((s, r) => s + r.cost, 0n);
    const refused = results.filter((r) => r.status === 402);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.body.error.code).toBe("key_budget_exceeded");
      expect(r.body.error.message).toMatch(/This API key's daily budget of \$0\.010000 is reached/);
    }
    // Holds are upper bounds: whatever the interleaving, the key never spends past its budget.
    expect(charged).toBeLessThanOrEqual(budget);
    console.info(
      `budgets: 60 concurrent requests on a $0.01 key budget: ${results.length - refused.length} served, $${Number(charged) / 1e6} charged`,
    );
    expect((await chat(other)).status).toBe(200);

    // The key list shows what the key spent (once the charges are in the ledger).
    await t.app.flushLogs();
    const listed = (await owner.get(keys())).body.keys.find((k: { id: string }) => k.id === created.body.id);
    expect(micro(listed.budget.spentUsd)).toBe(charged);

    // Raised: the key is served again at once.
    expect((await owner.patch(`${keys()}/${created.body.id}`, { budgetUsd: "10" })).body.budget).toMatchObject({
      amountUsd: "10.000000",
      period: "day",
    });
    expect((await chat(created.body.key)).status).toBe(200);
    // Removed: no budget.
    expect((await owner.patch(`${keys()}/${created.body.id}`, { budgetUsd: null })).body.budget).toBeNull();
    expect((await owner.patch(`${keys()}/${created.body.id}`, { budgetPeriod: "month" })).body.error.code).toBe(
      "BUDGET_REQUIRED",
    );
  });

  it("an end user's budget counts the requests naming that user only", async () => {
    const set = await owner.patch(`/api/v1/orgs/${slug}/projects/main-app`, {
      endUserBudgetUsd: "0.02",
      endUserBudgetPeriod: "month",
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.endUserBudget).toMatchObject({ amountUsd: "0.020000", period: "month" });
    const key = (await owner.post(keys(), { name: "app", environment: "live" })).body.key as string;

    let alice = 0n;
    let refused: Awaited<ReturnType<typeof chat>> | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await chat(key, "alice@example.com");
      if (r.status === 402) refused = r;
      else alice += r.cost;
    }
    expect(refused!.body.error.code).toBe("end_user_budget_exceeded");
    expect(refused!.body.error.message).toContain('"alice@example.com"');
    expect(alice).toBeLessThanOrEqual(20_000n);
    // Another end user, and requests naming none, are served.
    expect((await chat(key, "bob")).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/main-app`, { endUserBudgetUsd: null })).status).toBe(200);
    expect((await chat(key, "alice@example.com")).status).toBe(200);
  });
});
