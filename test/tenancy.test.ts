/**
 * Cross-organization isolation: an outsider (even the owner of another org)
 * gets 404 — never 403 — on every route of an organization they are not in,
 * and ids of one organization are not found through another's routes.
 * The org routes are taken from the app's route table, so new ones are covered.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, createOrg, rows, team } from "./helpers/fixtures.js";

describe(`tenancy (${storageKind})`, () => {
  let t: TestApp;
  let a: Awaited<ReturnType<typeof team>>;
  let outsider: Client;
  let orgB: { id: string; slug: string };
  let invitationA: string;

  beforeAll(async () => {
    t = await startTestApp();
    a = await team(t, "Tenant A");
    outsider = await t.signUp();
    orgB = await createOrg(outsider, { name: "Tenant B" });
    const inv = await a.owner.post(`/api/v1/orgs/${a.slug}/invitations`, {
      email: uniqueEmail("pending"),
      role: "member",
    });
    invitationA = inv.body.id;
  });
  afterAll(() => t.close());

  const snapshot = async () => ({
    org: await rows(t, sql`select slug, name, description, updated_at from organizations where id = ${a.org.id}`),
    members: await rows(t, sql`select user_id, role from members where org_id = ${a.org.id} order by user_id`),
    invitations: await rows(
      t,
      sql`select id, status, token_hash from invitations where org_id = ${a.org.id} order by id`,
    ),
    audit: await count(t, "audit_log", sql`org_id = ${a.org.id}`),
  });

  function fill(url: string, slug: string): string {
    return url
      .replace(":org", slug)
      .replace(":userId", a.member.user!.id)
      .replace(":id", invitationA)
      .replace(/:[A-Za-z]+/g, "x-anything");
  }

  it("every org route answers 404 ORG_NOT_FOUND to a member of another organization", async () => {
    // Routes of an organization's members (the operator's admin routes name an org too, but answer 404 otherwise).
    const orgRoutes = t.app.routes.filter((r) => r.url.includes(":org") && r.access?.kind === "org");
    expect(orgRoutes.length).toBeGreaterThanOrEqual(12);
    const before = await snapshot();
    for (const r of orgRoutes) {
      const body =
        r.method === "GET"
          ? undefined
          : { confirm: a.slug, userId: outsider.user!.id, role: "admin", email: uniqueEmail(), name: "x" };
      const res = await outsider.request(r.method as "GET", fill(r.url, a.slug), body);
      expect(res.status, `${r.method} ${r.url}`).toBe(404);
      expect(res.body.error.code, `${r.method} ${r.url}`).toBe("ORG_NOT_FOUND");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("another org's slug and an unknown slug answer the same way", async () => {
    const existing = await outsider.get(`/api/v1/orgs/${a.slug}/members`);
    const unknown = await outsider.get(`/api/v1/orgs/no-such-org-here/members`);
    expect(existing.status).toBe(unknown.status);
    expect(existing.body.error.code).toBe(unknown.body.error.code);
    expect(existing.body.error.message.replace(a.slug, "S")).toBe(
      unknown.body.error.message.replace("no-such-org-here", "S"),
    );
  });

  it("lists never show other organizations", async () => {
    const mine = await outsider.get("/api/v1/orgs");
    const me = await outsider.get("/api/v1/me");
    const text = JSON.stringify([mine.body, me.body]);
    expect(text).not.toContain(a.slug);
    expect(text).not.toContain(a.org.id);
    expect(mine.body.organizations.map((o: { slug: string }) => o.slug)).toContain(orgB.slug);
    const audit = await outsider.get(`/api/v1/orgs/${orgB.slug}/audit-log?limit=200`);
    expect(JSON.stringify(audit.body)).not.toContain(a.org.id);
  });

  it("ids of org A are not found through org B's routes", async () => {
    const before = await snapshot();
    const patch = await outsider.patch(`/api/v1/orgs/${orgB.slug}/members/${a.member.user!.id}`, { role: "admin" });
    expect(patch.status).toBe(404);
    expect(patch.body.error.code).toBe("MEMBER_NOT_FOUND");
    expect((await outsider.delete(`/api/v1/orgs/${orgB.slug}/members/${a.member.user!.id}`)).status).toBe(404);
    const revoke = await outsider.delete(`/api/v1/orgs/${orgB.slug}/invitations/${invitationA}`);
    expect(revoke.status).toBe(404);
    expect(revoke.body.error.code).toBe("INVITATION_NOT_FOUND");
    expect((await outsider.post(`/api/v1/orgs/${orgB.slug}/invitations/${invitationA}/resend`)).status).toBe(404);
    const transfer = await outsider.post(`/api/v1/orgs/${orgB.slug}/transfer`, { userId: a.owner.user!.id });
    expect(transfer.status).toBe(404);
    expect((await outsider.patch("/api/v1/me", { activeOrganization: a.slug })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    // B is untouched too: one owner, still the outsider.
    expect(await rows(t, sql`select user_id, role from members where org_id = ${orgB.id}`)).toEqual([
      { user_id: outsider.user!.id, role: "owner" },
    ]);
  });

  it("a removed member loses access at once (404, not 403)", async () => {
    const extra = await team(t, "Tenant C");
    expect((await extra.owner.delete(`/api/v1/orgs/${extra.slug}/members/${extra.admin.user!.id}`)).status).toBe(204);
    const res = await extra.admin.patch(`/api/v1/orgs/${extra.slug}`, { name: "still here?" });
    expect(res.status).toBe(404);
  });
});
