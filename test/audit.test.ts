/**
 * The audit log: every change of the organization model writes a row (who,
 * what, on which target, from where); owners and admins read it with paging
 * and filters; the table refuses UPDATE and DELETE; no secret ends up in it.
 * Filters are validated (an unknown action is 400) and combine with paging;
 * entries name the people and projects they mention; every action the code
 * records is in the action catalogue the filter and the dashboard use.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_ACTIONS, AUDIT_TARGET_TYPES } from "../src/modules/audit/audit.actions.js";
import { LEDGER_KINDS } from "../src/modules/billing/billing.schema.js";
import { type Client, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, joinOrg, outboxToken, rows } from "./helpers/fixtures.js";

interface Entry {
  id: string;
  action: string;
  actor: { userId: string | null; email: string | null };
  targetType: string;
  targetId: string | null;
  metadata: Record<string, unknown>;
  ip: string | null;
  createdAt: string;
}

describe(`audit log (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let leaver: Client;
  let slug: string;
  let orgId: string;
  const tokens: string[] = [];
  let all: Entry[];

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.signUp({ name: "Owner" });
    const org = await createOrg(owner, { name: "Audited" });
    slug = org.slug;
    orgId = org.id;
    admin = await joinOrg(t, owner, slug, "admin");
    member = await joinOrg(t, admin, slug, "member");
    leaver = await joinOrg(t, owner, slug, "member");
    tokens.push(outboxToken(t, admin.user!.email), outboxToken(t, member.user!.email));

    await admin.patch(`/api/v1/orgs/${slug}`, { description: "audited org" });
    const revoked = await admin.post(`/api/v1/orgs/${slug}/invitations`, { email: uniqueEmail("rev"), role: "member" });
    await admin.delete(`/api/v1/orgs/${slug}/invitations/${revoked.body.id}`);
    const resendEmail = uniqueEmail("resend");
    const resent = await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: resendEmail, role: "admin" });
    await owner.post(`/api/v1/orgs/${slug}/invitations/${resent.body.id}/resend`);
    tokens.push(outboxToken(t, resendEmail));
    const declineEmail = uniqueEmail("decl");
    await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: declineEmail, role: "member" });
    const decliner = await t.signUp({ email: declineEmail });
    await decliner.post(`/api/v1/invitations/${outboxToken(t, declineEmail)}/decline`);
    await owner.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "admin" });
    await leaver.post(`/api/v1/orgs/${slug}/leave`);
    await owner.delete(`/api/v1/orgs/${slug}/members/${member.user!.id}`);
    await owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: admin.user!.id });
    // Refused changes write nothing.
    await member.patch(`/api/v1/orgs/${slug}`, { name: "no" });
    await owner.delete(`/api/v1/orgs/${slug}`, { confirm: "wrong" });

    all = (await admin.get(`/api/v1/orgs/${slug}/audit-log?limit=200`)).body.entries;
  });
  afterAll(() => t.close());

  const find = (action: string) => all.filter((e) => e.action === action);

  it("records every change with who, what, target and ip", async () => {
    expect(all.map((e) => e.action).reverse()).toEqual([
      "org.created",
      "invitation.created",
      "invitation.accepted",
      "invitation.created",
      "invitation.accepted",
      "invitation.created",
      "invitation.accepted",
      "org.updated",
      "invitation.created",
      "invitation.revoked",
      "invitation.created",
      "invitation.resent",
      "invitation.created",
      "invitation.declined",
      "member.role_changed",
      "member.left",
      "member.removed",
      "org.ownership_transferred",
    ]);
    for (const e of all) {
      expect(e.ip, e.action).toBe("127.0.0.1");
      expect(e.actor.userId, e.action).toEqual(expect.any(String));
      expect(e.actor.email, e.action).toEqual(expect.any(String));
      expect(new Date(e.createdAt).getTime()).toBeGreaterThan(Date.now() - 120_000);
    }
    expect(find("org.created")[0]).toMatchObject({
      actor: { userId: owner.user!.id, email: owner.user!.email },
      targetType: "org",
      targetId: orgId,
    });
    expect(find("org.updated")[0]).toMatchObject({
      actor: { userId: admin.user!.id },
      metadata: { changes: { description: { from: "", to: "audited org" } } },
    });
    expect(find("member.role_changed")[0]).toMatchObject({
      actor: { userId: owner.user!.id },
      targetType: "member",
      targetId: member.user!.id,
      metadata: { from: "member", to: "admin" },
    });
    expect(find("member.removed")[0]).toMatchObject({ actor: { userId: owner.user!.id }, targetId: member.user!.id });
    expect(find("member.left")[0]).toMatchObject({ actor: { userId: leaver.user!.id }, targetId: leaver.user!.id });
    expect(find("org.ownership_transferred")[0]).toMatchObject({
      actor: { userId: owner.user!.id },
      targetId: admin.user!.id,
      metadata: { from: owner.user!.id, to: admin.user!.id },
    });
    const acceptedBy = find("invitation.accepted").map((e) => e.actor.userId);
    expect(acceptedBy).toEqual(expect.arrayContaining([admin.user!.id, member.user!.id, leaver.user!.id]));
  });

  it("records the socket address, not a client-supplied X-Forwarded-For", async () => {
    const res = await owner.patch(
      `/api/v1/orgs/${slug}`,
      { description: "spoofed ip?" },
      { "x-forwarded-for": "203.0.113.7" },
    );
    expect(res.status).toBe(200);
    const [latest] = (await owner.get(`/api/v1/orgs/${slug}/audit-log?limit=1`)).body.entries as Entry[];
    expect(latest).toMatchObject({ action: "org.updated", ip: "127.0.0.1" });
    all = (await admin.get(`/api/v1/orgs/${slug}/audit-log?limit=200`)).body.entries;
  });

  it("never stores an invitation token or a session token", async () => {
    const raw = JSON.stringify(await rows(t, sql`select * from audit_log`));
    for (const token of tokens) expect(raw).not.toContain(token);
    for (const c of [owner, admin, member]) {
      const session = decodeURIComponent(c.cookie.split("=")[1]!.split(".")[0]!);
      expect(raw).not.toContain(session);
    }
  });

  it("owners and admins read it; members get 403", async () => {
    expect((await owner.get(`/api/v1/orgs/${slug}/audit-log`)).status).toBe(200);
    const other = await joinOrg(t, admin, slug, "member");
    const res = await other.get(`/api/v1/orgs/${slug}/audit-log`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
    all = (await admin.get(`/api/v1/orgs/${slug}/audit-log?limit=200`)).body.entries;
  });

  it("pages newest first with limit and nextCursor, without gaps or repeats", async () => {
    const seen: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { entries: Entry[]; nextCursor: string | null } } = await owner.get(
        `/api/v1/orgs/${slug}/audit-log?limit=4${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.entries.length).toBeLessThanOrEqual(4);
      seen.push(...res.body.entries);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(pages).toBe(Math.ceil(all.length / 4));
    const ids = seen.map((e) => BigInt(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! < ids[i - 1]!).toBe(true);
  });

  it("filters by action, actor, target type and time", async () => {
    const q = (s: string) =>
      owner.get(`/api/v1/orgs/${slug}/audit-log?limit=200&${s}`).then((r) => r.body.entries as Entry[]);
    const created = await q("action=invitation.created");
    expect(created).toHaveLength(all.filter((e) => e.action === "invitation.created").length);
    expect(created.every((e) => e.action === "invitation.created")).toBe(true);

    const byAdmin = await q(`actorUserId=${admin.user!.id}`);
    expect(byAdmin.length).toBeGreaterThan(0);
    expect(byAdmin.map((e) => e.id)).toEqual(all.filter((e) => e.actor.userId === admin.user!.id).map((e) => e.id));

    const invitationsOnly = await q("targetType=invitation");
    expect(invitationsOnly.map((e) => e.id)).toEqual(all.filter((e) => e.targetType === "invitation").map((e) => e.id));

    const both = await q(`targetType=member&actorUserId=${owner.user!.id}`);
    expect(both.map((e) => e.action).sort()).toEqual([
      "member.removed",
      "member.role_changed",
      "org.ownership_transferred",
    ]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect(await q(`from=${encodeURIComponent(future)}`)).toEqual([]);
    expect(await q(`to=${encodeURIComponent(past)}`)).toEqual([]);
    expect((await q(`from=${encodeURIComponent(past)}&to=${encodeURIComponent(future)}`)).length).toBe(all.length);
    const mid = all[Math.floor(all.length / 2)]!.createdAt;
    const since = await q(`from=${encodeURIComponent(mid)}`);
    expect(since.every((e) => e.createdAt >= mid)).toBe(true);
    expect(await q("action=org.deleted")).toEqual([]);
  });

  it("is append-only: UPDATE, DELETE and TRUNCATE through SQL fail", async () => {
    const [first] = await rows<{ id: string }>(
      t,
      sql`select id::text as id from audit_log where org_id = ${orgId} order by audit_log.id limit 1`,
    );
    await expect(
      t.db.execute(sql`update audit_log set action = 'forged' where id = ${first!.id}::bigint`),
    ).rejects.toThrow();
    await expect(t.db.execute(sql`delete from audit_log where id = ${first!.id}::bigint`)).rejects.toThrow();
    await expect(t.db.execute(sql`delete from audit_log where org_id = ${orgId}`)).rejects.toThrow();
    await expect(t.db.execute(sql`truncate audit_log`)).rejects.toThrow();
    const [still] = await rows<{ action: string }>(
      t,
      sql`select action from audit_log where id = ${first!.id}::bigint`,
    );
    expect(still!.action).toBe("org.created");
  });
});

interface NamedPage {
  entries: Array<
    Entry & {
      actor: { token: { id: string; name: string | null } | null };
      targetName: string | null;
      project: { id: string | null; slug: string | null; name: string | null } | null;
    }
  >;
  nextCursor: string | null;
  people: Record<string, { name: string; email: string }>;
}

describe(`audit log filters and names (${storageKind})`, () => {
  let t: TestApp;
  let alice: Client;
  let bob: Client;
  let carol: Client;
  let slug: string;
  let tokenId: string;
  let keyId: string;
  let projectId: string;
  const log = (query = "") =>
    alice.get<NamedPage>(`/api/v1/orgs/${slug}/audit-log?limit=200${query ? `&${query}` : ""}`).then((r) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    });

  beforeAll(async () => {
    t = await startTestApp();
    alice = await t.signUp({ name: "Alice Owner" });
    slug = (await createOrg(alice, { name: "Named" })).slug;
    bob = await joinOrg(t, alice, slug, "member", await t.signUp({ name: "Bob Member" }));
    carol = await joinOrg(t, alice, slug, "admin", await t.signUp({ name: "Carol Admin" }));
    expect((await alice.patch(`/api/v1/orgs/${slug}/members/${bob.user!.id}`, { role: "admin" })).status).toBe(200);
    const project = await alice.post(`/api/v1/orgs/${slug}/projects`, { name: "Web app", slug: "web-app" });
    expect(project.status).toBe(201);
    projectId = project.body.id;
    const key = await alice.post(`/api/v1/orgs/${slug}/projects/web-app/keys`, { name: "ci", environment: "live" });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    keyId = key.body.id;
    for (let i = 0; i < 5; i++) {
      const inv = await carol.post(`/api/v1/orgs/${slug}/invitations`, { email: uniqueEmail(`p${i}`), role: "member" });
      expect(inv.status).toBe(201);
    }
    const token = await alice.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "deploy bot", role: "admin" });
    expect(token.status).toBe(201);
    tokenId = token.body.id;
    const byToken = await t.anon.request(
      "POST",
      `/api/v1/orgs/${slug}/invitations`,
      { email: uniqueEmail("bot"), role: "member" },
      { authorization: `Bearer ${token.body.token}`, origin: "\u0000omit" },
    );
    expect(byToken.status, JSON.stringify(byToken.body)).toBe(201);
  });
  afterAll(() => t.close());

  it("names the acting person, the member a change targets, and a key's project", async () => {
    const page = await log();
    const role = page.entries.find((e) => e.action === "member.role_changed")!;
    expect(role).toMatchObject({
      actor: { userId: alice.user!.id },
      targetId: bob.user!.id,
      targetName: "Bob Member",
      metadata: { from: "member", to: "admin" },
    });
    expect(page.people[alice.user!.id]).toEqual({ name: "Alice Owner", email: alice.user!.email });
    expect(page.people[bob.user!.id]).toEqual({ name: "Bob Member", email: bob.user!.email });
    const key = page.entries.find((e) => e.action === "key.created")!;
    expect(key).toMatchObject({
      targetId: keyId,
      metadata: { name: "ci", projectSlug: "web-app" },
      project: { id: projectId, slug: "web-app", name: "Web app" },
    });
    expect(page.entries.find((e) => e.action === "project.created")).toMatchObject({
      targetName: "Web app",
      project: { id: projectId, name: "Web app" },
    });
    const bot = page.entries.find((e) => e.actor.token)!;
    expect(bot).toMatchObject({ action: "invitation.created", actor: { token: { id: tokenId, name: "deploy bot" } } });
    // Entries without a person or project in them name none.
    expect(page.entries.find((e) => e.action === "invitation.created")).toMatchObject({
      targetName: null,
      project: null,
    });
  });

  it("each filter narrows, and filters combine", async () => {
    const all = (await log()).entries;
    const invitations = (await log("action=invitation.created")).entries;
    expect(invitations.length).toBe(all.filter((e) => e.action === "invitation.created").length);
    expect(invitations.length).toBeLessThan(all.length);

    const byCarol = (await log(`actorUserId=${carol.user!.id}`)).entries;
    expect(byCarol.map((e) => e.id)).toEqual(all.filter((e) => e.actor.userId === carol.user!.id).map((e) => e.id));
    const byToken = (await log(`actorTokenId=${tokenId}`)).entries;
    expect(byToken.map((e) => e.action)).toEqual(["invitation.created"]);

    const carolInvites = (await log(`action=invitation.created&actorUserId=${carol.user!.id}`)).entries;
    expect(carolInvites).toHaveLength(5);
    const aliceInvites = (await log(`action=invitation.created&actorUserId=${alice.user!.id}`)).entries;
    expect(aliceInvites).toHaveLength(2); // Bob's and Carol's
    expect((await log(`action=key.created&actorUserId=${carol.user!.id}`)).entries).toEqual([]);

    const mid = carolInvites[2]!.createdAt;
    const later = (await log(`action=invitation.created&actorUserId=${carol.user!.id}&from=${encodeURIComponent(mid)}`))
      .entries;
    expect(later.length).toBeGreaterThan(0);
    expect(later.length).toBeLessThanOrEqual(5);
    expect(later.every((e) => e.createdAt >= mid)).toBe(true);
    const window = (
      await log(`action=member.role_changed&from=${encodeURIComponent(mid)}&to=${encodeURIComponent(mid)}`)
    ).entries;
    expect(window.every((e) => e.createdAt === mid)).toBe(true);
  });

  it("pages through a filtered list without gaps or repeats", async () => {
    const want = (await log("action=invitation.created")).entries.map((e) => e.id);
    expect(want.length).toBe(8);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: NamedPage } = await alice.get(
        `/api/v1/orgs/${slug}/audit-log?action=invitation.created&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.entries.every((e) => e.action === "invitation.created")).toBe(true);
      seen.push(...res.body.entries.map((e) => e.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(want);
    expect(pages).toBe(3);
  });

  it("refuses bad filter values with 400 and a stable code", async () => {
    const refused = async (query: string, code: string, field?: string) => {
      const res = await alice.get(`/api/v1/orgs/${slug}/audit-log?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe(code);
      if (field) expect(res.body.error.details[0].path, query).toBe(`querystring.${field}`);
    };
    await refused("action=no.such.action", "VALIDATION_ERROR", "action");
    await refused("action=", "VALIDATION_ERROR", "action");
    await refused("targetType=spaceship", "VALIDATION_ERROR", "targetType");
    await refused("actorUserId=", "VALIDATION_ERROR", "actorUserId");
    await refused("from=yesterday", "VALIDATION_ERROR", "from");
    await refused("to=2024-13-01T00:00:00Z", "VALIDATION_ERROR", "to");
    await refused("actor=someone", "VALIDATION_ERROR");
    await refused(`from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z`, "INVALID_RANGE");
  });

  it("lists the actions and target types as enums in the OpenAPI document", async () => {
    const doc = (await t.anon.get("/api/openapi.json")).body;
    const params = doc.paths["/api/v1/orgs/{org}/audit-log"].get.parameters as Array<{
      name: string;
      schema: { enum?: string[] };
    }>;
    expect(params.find((p) => p.name === "action")?.schema.enum).toEqual(AUDIT_ACTIONS);
    expect(params.find((p) => p.name === "targetType")?.schema.enum).toEqual([...AUDIT_TARGET_TYPES]);
  });

  it("members still get 403", async () => {
    const dave = await joinOrg(t, alice, slug, "member");
    const res = await dave.get(`/api/v1/orgs/${slug}/audit-log?action=member.role_changed`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
  });
});

describe("the audit action catalogue", () => {
  /** Every action and target type the server's code records (recordAudit and its helpers). */
  function recorded() {
    const root = path.join(import.meta.dirname, "../src");
    const actions = new Set<string>();
    const targetTypes = new Set<string>();
    for (const rel of readdirSync(root, { recursive: true }) as string[]) {
      if (!rel.endsWith(".ts") || rel.endsWith(".test.ts")) continue;
      const text = readFileSync(path.join(root, rel), "utf8");
      if (!text.includes("recordAudit(")) continue;
      for (const m of text.matchAll(/\baction:\s*([^\n]+)/g))
        for (const lit of m[1]!.matchAll(/"([a-z_]+\.[a-z_]+)"/g)) actions.add(lit[1]!);
      // Helpers that take the action as an argument (log destinations).
      for (const m of text.matchAll(/auditEntry\([^)]*"([a-z_]+\.[a-z_]+)"/g)) actions.add(m[1]!);
      // The ledger's rows: `billing.<kind>` for every kind but usage (usage writes no audit row).
      for (const m of text.matchAll(/\baction:\s*`([^`]*)`/g)) {
        expect(m[1], "a template action this test does not know how to expand").toBe("billing.$" + "{p.kind}");
        for (const k of LEDGER_KINDS) if (k !== "usage") actions.add(`billing.${k}`);
      }
      for (const m of text.matchAll(/targetType: "([a-z_]+)"/g)) targetTypes.add(m[1]!);
    }
    return { actions, targetTypes };
  }

  it("holds every action and target type the code records, and nothing else", () => {
    const { actions, targetTypes } = recorded();
    expect(actions.size).toBeGreaterThan(50);
    expect([...actions].sort()).toEqual([...AUDIT_ACTIONS].sort());
    expect([...targetTypes].sort()).toEqual([...AUDIT_TARGET_TYPES].sort());
  });
});
