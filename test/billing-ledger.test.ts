/**
 * The ledger and the billing API: operator grants (the CLI code path),
 * idempotency, append-only rows, `billing verify`, the billing summary,
 * transaction paging, the usage report and its CSV, and who may see them.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBillingCommand } from "../src/modules/billing/billing.cli.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, createOrg, rows, team } from "./helpers/fixtures.js";

describe(`billing ledger and reports (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const code = await runBillingCommand(t.db, argv, (l) => out.push(l), { billing: t.config.billing });
    return { code, out: out.join("\n") };
  }

  beforeAll(async () => {
    // The operator prices the mock model (free by default) and adds a 10 % markup.
    t = await startTestApp({
      env: { TOLLGATE_PRICE_OVERRIDES: '{"mock/echo": {"input": "1", "output": "2"}}', TOLLGATE_MARKUP_PERCENT: "10" },
    });
    const x = await team(t, "Ledger Co");
    ({ owner, admin, member, slug } = x);
    orgId = x.org.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("without Stripe the billing page says how credits are added; a new org starts at 0", async () => {
    const b = await owner.get(`/api/v1/orgs/${slug}/billing`);
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({
      balanceMicroUsd: "0",
      balanceUsd: "0.000000",
      reservedMicroUsd: "0",
      availableMicroUsd: "0",
      monthSpendMicroUsd: "0",
      stripeConfigured: false,
    });
    expect(b.body.addCredits).toMatch(/tollgate credits grant --org/);
  });

  it("credits grant: ledger entry + audit row, balance follows, exact decimal amounts", async () => {
    const r = await cli("credits", "grant", "--org", slug, "--usd", "12.345678", "--note", "pilot credit");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Granted \$12\.345678 to/);
    const b = await admin.get(`/api/v1/orgs/${slug}/billing`);
    expect(b.body).toMatchObject({ balanceMicroUsd: "12345678", balanceUsd: "12.345678", availableUsd: "12.345678" });
    expect(await auditActions(t, orgId)).toContain("billing.grant");
    const [a] = await rows<{ metadata: Record<string, unknown> }>(
      t,
      sql`select metadata from audit_log where org_id = ${orgId} and action = 'billing.grant'`,
    );
    expect(a!.metadata).toMatchObject({ amountMicroUsd: "12345678", note: "pilot credit" });
  });

  it("credits grant refuses bad input without writing: unknown org, negative/over-precise/non-numeric amounts, empty note", async () => {
    const before = await rows(t, sql`select id from ledger_entries`);
    expect((await cli("credits", "grant", "--org", "no-such-org", "--usd", "1", "--note", "x")).out).toMatch(
      /No organization/,
    );
    for (const usd of ["-5", "0", "1.0000001", "abc", "1e3"]) {
      const r = await cli("credits", "grant", "--org", slug, `--usd=${usd}`, "--note", "x");
      expect(r.code, usd).toBe(1);
    }
    expect((await cli("credits", "grant", "--org", slug, "--usd", "1", "--note", "  ")).code).toBe(1);
    expect((await cli("credits", "grant", "--org", slug, "--usd", "1")).code).toBe(2);
    expect(await rows(t, sql`select id from ledger_entries`)).toHaveLength(before.length);
  });

  it("a posting with an idempotency key already used is a no-op (concurrently too)", async () => {
    const runs = await Promise.all(
      Array.from({ length: 5 }, () =>
        cli("credits", "grant", "--org", slug, "--usd", "1", "--note", "once", "--idempotency-key", "grant:test-once"),
      ),
    );
    expect(runs.every((r) => r.code === 0)).toBe(true);
    expect(runs.filter((r) => /Already granted/.test(r.out))).toHaveLength(4);
    const [n] = await rows<{ n: number }>(
      t,
      sql`select count(*)::int as n from ledger_entries where idempotency_key = 'grant:test-once'`,
    );
    expect(n!.n).toBe(1);
    expect((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceMicroUsd).toBe("13345678");
  });

  it("the ledger is append-only: UPDATE, DELETE and TRUNCATE are refused by the database", async () => {
    await expect(
      t.db.execute(sql`update ledger_entries set amount_micro_usd = 999999999 where org_id = ${orgId}`),
    ).rejects.toThrow();
    await expect(t.db.execute(sql`delete from ledger_entries where org_id = ${orgId}`)).rejects.toThrow();
    await expect(t.db.execute(sql`truncate ledger_entries`)).rejects.toThrow();
    const [s] = await rows<{ s: string }>(
      t,
      sql`select sum(amount_micro_usd)::text as s from ledger_entries where org_id = ${orgId}`,
    );
    expect(s!.s).toBe("13345678");
  });

  it("billing verify: ok when every balance equals its ledger, exit 1 naming the org when one drifts", async () => {
    const ok = await cli("billing", "verify");
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(new RegExp(`ok\\s+${slug}\\s+balance \\$13\\.345678\\s+ledger \\$13\\.345678`));
    // Simulate drift (a manual write to the cache, bypassing the ledger).
    await t.db.execute(
      sql`update billing_accounts set balance_micro_usd = balance_micro_usd + 1 where org_id = ${orgId}`,
    );
    const bad = await cli("billing", "verify");
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(new RegExp(`MISMATCH ${slug}`));
    await t.db.execute(
      sql`update billing_accounts set balance_micro_usd = balance_micro_usd - 1 where org_id = ${orgId}`,
    );
    expect((await cli("billing", "verify")).code).toBe(0);
  });

  it("transactions: newest first, cursor-paged, filterable by kind, with actor and note", async () => {
    for (let i = 0; i < 5; i++)
      await cli("credits", "grant", "--org", slug, "--usd", `0.0${i + 1}`, "--note", `batch ${i}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await owner.get(
        `/api/v1/orgs/${slug}/billing/transactions?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      for (const tx of res.body.transactions) seen.push(tx.note);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(["batch 4", "batch 3", "batch 2", "batch 1", "batch 0", "once", "pilot credit"]);
    const one = await admin.get(`/api/v1/orgs/${slug}/billing/transactions?limit=1`);
    expect(one.body.transactions[0]).toMatchObject({
      kind: "grant",
      amountMicroUsd: "50000",
      amountUsd: "0.050000",
      actor: { userId: null, email: "system" },
    });
    expect((await owner.get(`/api/v1/orgs/${slug}/billing/transactions?kind=usage`)).body.transactions).toEqual([]);
    expect((await owner.get(`/api/v1/orgs/${slug}/billing/transactions?cursor=abc`)).status).toBe(400);
  });

  it("usage report by day × project × model × key with totals, and as CSV; ledger usage reconciles with the request logs", async () => {
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Web", slug: "web-app" })).status).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/web-app/keys`, { name: "k", environment: "live" }))
      .body.key as string;
    for (let i = 0; i < 3; i++) {
      const r = await t.anon.post(
        "/v1/chat/completions",
        { model: "mock/echo", messages: [{ role: "user", content: `hello ${i}` }] },
        { authorization: `Bearer ${key}` },
      );
      expect(r.status).toBe(200);
    }
    await t.app.flushLogs();
    const u = await owner.get(`/api/v1/orgs/${slug}/billing/usage`);
    expect(u.status).toBe(200);
    expect(u.body.rows).toHaveLength(1);
    const logs = await rows<{ i: number; o: number; c: string }>(
      t,
      sql`select input_tokens as i, output_tokens as o, cost_micro_usd::text as c from request_logs where org_id = ${orgId}`,
    );
    expect(logs).toHaveLength(3);
    let total = 0n;
    for (const l of logs) {
      // $1/M input, $2/M output, +10 %, rounded up once.
      const expected = (BigInt(l.i) * 1_000_000n + BigInt(l.o) * 2_000_000n) * 110n;
      expect(BigInt(l.c)).toBe((expected + 100_000_000n - 1n) / 100_000_000n);
      total += BigInt(l.c);
    }
    expect(u.body.rows[0]).toMatchObject({
      projectSlug: "web-app",
      model: "mock/echo",
      requests: 3,
      costMicroUsd: total.toString(),
    });
    // Usage rows aggregate per project-hour and flush (not per request); together they equal the logs' sum.
    const usage: any[] = (await owner.get(`/api/v1/orgs/${slug}/billing/transactions?kind=usage`)).body.transactions;
    expect(usage.length).toBeGreaterThanOrEqual(1);
    expect(usage.reduce((s, u) => s + BigInt(u.amountMicroUsd), 0n)).toBe(-total);
    expect(usage.reduce((s, u) => s + u.requests, 0)).toBe(3);
    expect(usage.every((u) => u.projectId && u.periodStart?.endsWith(":00:00.000Z"))).toBe(true);
    expect((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.monthSpendMicroUsd).toBe(total.toString());
    expect(u.body.rows[0].day).toBe(new Date().toISOString().slice(0, 10));
    expect(u.body.totals.requests).toBe(3);
    expect(Number(u.body.totals.inputTokens)).toBeGreaterThan(0);
    const csv = await owner.get(`/api/v1/orgs/${slug}/billing/usage?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/text\/csv/);
    expect(csv.headers["content-disposition"]).toMatch(/attachment; filename="usage-/);
    const lines = String(csv.body).trim().split("\n");
    expect(lines[0]).toBe(
      "day,projectSlug,projectId,model,keyId,requests,inputTokens,cachedInputTokens,outputTokens,costUsd,costMicroUsd",
    );
    expect(lines[1]).toMatch(/,web-app,.*,mock\/echo,.*,3,/);
    expect(lines[2]).toMatch(/^total,,,,,3,/);
    expect(
      (await owner.get(`/api/v1/orgs/${slug}/billing/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`)).status,
    ).toBe(400);
  });

  it("members get 403 on every billing route; another org's owner gets 404; credits are never shared", async () => {
    for (const path of ["billing", "billing/transactions", "billing/usage"]) {
      const r = await member.get(`/api/v1/orgs/${slug}/${path}`);
      expect(r.status, path).toBe(403);
    }
    const stranger = await t.signUp();
    const other = await createOrg(stranger);
    for (const path of ["billing", "billing/transactions", "billing/usage"])
      expect((await stranger.get(`/api/v1/orgs/${slug}/${path}`)).status).toBe(404);
    expect((await stranger.get(`/api/v1/orgs/${other.slug}/billing`)).body.balanceMicroUsd).toBe("0");
  });
});
