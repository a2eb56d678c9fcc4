/**
 * The audit log: every change of the organization model writes a row (who,
 * what, on which target, from where); owners and admins read it with paging
 * and filters; the table refuses UPDATE and DELETE; no secret ends up in it.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    expect(await q("action=no.such.action")).toEqual([]);
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
