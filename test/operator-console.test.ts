/**
 * The operator console over HTTP: admin routes answer 404 to everyone but the
 * instance operators (TOLLGATE_ADMIN_EMAILS); operators list organizations
 * with balance, usage and members, grant and deduct credits with a note
 * (ledger + audit rows, the balance visible at once), disable an organization
 * (its keys are refused with `organization_disabled`, its members still read
 * and see why) and enable it again, and read the instance's health.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, rows, team } from "./helpers/fixtures.js";

const OPERATOR = "ops-root@example.com";

describe(`operator console (${storageKind})`, () => {
  let t: TestApp;
  let operator: Client;
  let owner: Client;
  let member: Client;
  let slug: string;
  let orgId: string;
  let key: string;

  const chat = () =>
    t.anon.post(
      "/v1/chat/completions",
      { model: "mock/echo", messages: [{ role: "user", content: "hi" }] },
      { authorization: `Bearer ${key}` },
    );

  beforeAll(async () => {
    t = await startTestApp({
      env: { TOLLGATE_ADMIN_EMAILS: ` Someone@Elsewhere.example , ${OPERATOR.toUpperCase()}` },
    });
    operator = await t.signUp({ email: OPERATOR, name: "Root" });
    const x = await team(t, "Acme Ops");
    ({ owner, member, slug } = x);
    orgId = x.org.id;
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" });
    key = k.body.key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers 404 on every admin route to anyone who is not an operator", async () => {
    const stranger = await t.signUp({ email: uniqueEmail("stranger") });
    for (const who of [t.anon, owner, member, stranger]) {
      for (const [method, url] of [
        ["GET", "/api/v1/admin/orgs"],
        ["GET", "/api/v1/admin/health"],
        ["POST", `/api/v1/admin/orgs/${slug}/credits`],
        ["POST", `/api/v1/admin/orgs/${slug}/disable`],
        ["POST", `/api/v1/admin/orgs/${slug}/enable`],
      ] as const) {
        const res = await who.request(method, url, method === "POST" ? { reason: "x" } : undefined);
        expect(res.status, `${method} ${url}`).toBe(404);
        expect(res.body.error.code).toBe("ROUTE_NOT_FOUND");
      }
    }
  });

  it("lists organizations with balance, this month's usage, members and disabled state", async () => {
    const res = await operator.get("/api/v1/admin/orgs?q=acme");
    expect(res.status).toBe(200);
    expect(res.body.organizations).toHaveLength(1);
    expect(res.body.organizations[0]).toMatchObject({
      slug,
      name: "Acme Ops",
      members: 3,
      balanceMicroUsd: "0",
      monthUsageMicroUsd: "0",
      disabled: null,
    });
    const all = await operator.get("/api/v1/admin/orgs");
    expect(all.body.organizations.length).toBeGreaterThanOrEqual(5);
  });

  it("grants and deducts credits with a note: ledger and audit rows, the balance visible at once", async () => {
    const grant = await operator.post(`/api/v1/admin/orgs/${slug}/credits`, {
      direction: "grant",
      amountUsd: "25",
      note: "pilot credit",
    });
    expect(grant.status).toBe(201);
    expect(grant.body).toMatchObject({ amountUsd: "25.000000", balanceUsd: "25.000000" });
    expect((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceUsd).toBe("25.000000");

    const deduct = await operator.post(`/api/v1/admin/orgs/${slug}/credits`, {
      direction: "deduct",
      amountUsd: "5.5",
      note: "correction",
    });
    expect(deduct.status).toBe(201);
    expect(deduct.body).toMatchObject({ amountMicroUsd: "-5500000", balanceUsd: "19.500000" });
    expect((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceUsd).toBe("19.500000");

    const ledger = await rows<{ kind: string; amount: string; note: string; actor_email: string }>(
      t,
      sql`select kind, amount_micro_usd::text as amount, note, actor_email from ledger_entries where org_id = ${orgId} order by id`,
    );
    expect(ledger).toEqual([
      { kind: "grant", amount: "25000000", note: "pilot credit", actor_email: OPERATOR },
      { kind: "adjustment", amount: "-5500000", note: "correction", actor_email: OPERATOR },
    ]);
    expect(await auditActions(t, orgId)).toEqual(expect.arrayContaining(["billing.grant", "billing.adjustment"]));
    const tx = await owner.get(`/api/v1/orgs/${slug}/billing/transactions`);
    expect(tx.body.transactions[0]).toMatchObject({ kind: "adjustment", note: "correction" });

    const noNote = await operator.post(`/api/v1/admin/orgs/${slug}/credits`, {
      direction: "grant",
      amountUsd: "1",
      note: " ",
    });
    expect(noNote.status).toBe(400);
    const unknown = await operator.post("/api/v1/admin/orgs/no-such-org/credits", {
      direction: "grant",
      amountUsd: "1",
      note: "x",
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("ORG_NOT_FOUND");
    const listed = await operator.get("/api/v1/admin/orgs?q=acme");
    expect(listed.body.organizations[0].balanceUsd).toBe("19.500000");
  });

  it("disable refuses the org's keys, members still read and see why; enable lets them through again", async () => {
    expect((await chat()).status).toBe(200);
    expect((await member.get(`/api/v1/orgs/${slug}/status`)).body).toEqual({ disabled: null });

    const off = await operator.post(`/api/v1/admin/orgs/${slug}/disable`, { reason: "unpaid invoice" });
    expect(off.status).toBe(200);
    expect(off.body.disabled).toMatchObject({ by: OPERATOR, reason: "unpaid invoice" });
    const again = await operator.post(`/api/v1/admin/orgs/${slug}/disable`, { reason: "twice" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("ORG_ALREADY_DISABLED");

    const refused = await chat();
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("organization_disabled");
    expect(JSON.stringify(refused.body)).not.toContain("unpaid invoice");

    const status = await member.get(`/api/v1/orgs/${slug}/status`);
    expect(status.status).toBe(200);
    expect(status.body.disabled).toMatchObject({ reason: "unpaid invoice", by: OPERATOR });
    expect((await member.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    const listed = await operator.get("/api/v1/admin/orgs?q=acme");
    expect(listed.body.organizations[0].disabled).toMatchObject({ reason: "unpaid invoice" });

    const on = await operator.post(`/api/v1/admin/orgs/${slug}/enable`, {});
    expect(on.status).toBe(200);
    expect(on.body).toEqual({ disabled: null });
    expect((await chat()).status).toBe(200);
    expect((await operator.post(`/api/v1/admin/orgs/${slug}/enable`, {})).body.error.code).toBe("ORG_NOT_DISABLED");
    expect(await auditActions(t, orgId)).toEqual(expect.arrayContaining(["org.disabled", "org.enabled"]));
  });

  it("shows the instance's health: database, Redis, version, uptime", async () => {
    const res = await operator.get("/api/v1/admin/health");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: "ready",
      database: { kind: t.database.kind, reachable: true },
      redis: "off",
    });
    expect(res.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(res.body.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });
});
