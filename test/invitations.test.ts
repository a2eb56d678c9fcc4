/**
 * The invitation lifecycle through real HTTP and a real SMTP server: the test
 * reads the mail Tollgate sent and follows the token in its link.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/platform/logger.js";
import { Client, PASSWORD, PUBLIC_URL, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { openTestDatabase, storageKind } from "./helpers/database.js";
import { count, createOrg, rows } from "./helpers/fixtures.js";
import { inviteToken, startSmtp, type TestSmtp } from "./helpers/smtp.js";

describe(`invitations (${storageKind})`, () => {
  let t: TestApp;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** Invites `email` and returns the token from the mail that arrived. */
  async function invite(by: Client, slug: string, email: string, role: "admin" | "member" = "member") {
    const res = await by.post(`/api/v1/orgs/${slug}/invitations`, { email, role });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const mail = await smtp.waitFor(email);
    return { id: res.body.id as string, token: inviteToken(mail), mail };
  }

  async function ownerWithOrg(name = "Acme Corp") {
    const owner = await t.signUp({ name: "Olivia Owner" });
    const org = await createOrg(owner, { name });
    return { owner, org, slug: org.slug };
  }

  const memberRows = (orgId: string, userId: string) =>
    count(t, "members", sql`org_id = ${orgId} and user_id = ${userId}`);

  it("invite → mail → preview → sign up with the invited email → accept → member with that role", async () => {
    const { owner, org, slug } = await ownerWithOrg("Acme Corp");
    const email = uniqueEmail("bob");
    const { token, mail } = await invite(owner, slug, email, "admin");
    expect(mail.subject).toContain("Acme Corp");
    expect(mail.text).toContain(`http://localhost:3000/invite/${token}`);

    const listed = await owner.get(`/api/v1/orgs/${slug}/invitations`);
    expect(listed.body.invitations.map((i: { email: string }) => i.email)).toContain(email);

    const preview = await t.anon.get(`/api/v1/invitations/${token}`);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      organization: { slug, name: "Acme Corp" },
      invitedBy: { name: "Olivia Owner" },
      email,
      role: "admin",
      status: "pending",
      expired: false,
    });

    const bob = await t.signUp({ email, name: "Bob" });
    const accepted = await bob.post(`/api/v1/invitations/${token}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ organization: { id: org.id, slug, name: "Acme Corp" }, role: "admin" });

    const team = await owner.get(`/api/v1/orgs/${slug}/members`);
    expect(team.body.members).toContainEqual(expect.objectContaining({ userId: bob.user!.id, email, role: "admin" }));
    const me = await bob.get("/api/v1/me");
    expect(me.body.organizations).toContainEqual(expect.objectContaining({ slug, role: "admin" }));
    expect(me.body.activeOrganization).toBe(slug);

    // No longer pending; the link is used up.
    const pending = await owner.get(`/api/v1/orgs/${slug}/invitations`);
    expect(pending.body.invitations.map((i: { email: string }) => i.email)).not.toContain(email);
    expect((await t.anon.get(`/api/v1/invitations/${token}`)).body.status).toBe("accepted");
  });

  it("accepting needs a session", async () => {
    const { owner, slug } = await ownerWithOrg();
    const { token } = await invite(owner, slug, uniqueEmail());
    const res = await t.anon.post(`/api/v1/invitations/${token}/accept`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("an unknown token is 404 for preview and accept", async () => {
    const someone = await t.signUp();
    const fake = "x".repeat(43);
    expect((await t.anon.get(`/api/v1/invitations/${fake}`)).body.error.code).toBe("INVITATION_NOT_FOUND");
    const res = await someone.post(`/api/v1/invitations/${fake}/accept`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("INVITATION_NOT_FOUND");
  });

  it("decline: no membership, and the link cannot be used afterwards", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const email = uniqueEmail("dan");
    const { token } = await invite(owner, slug, email);
    const dan = await t.signUp({ email });
    const declined = await dan.post(`/api/v1/invitations/${token}/decline`);
    expect(declined.status).toBe(204);
    expect(await memberRows(org.id, dan.user!.id)).toBe(0);
    const again = await dan.post(`/api/v1/invitations/${token}/accept`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("INVITATION_ALREADY_USED");
    expect((await t.anon.get(`/api/v1/invitations/${token}`)).body.status).toBe("declined");
  });

  it("revoke: the old link answers 410 INVITATION_REVOKED", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const email = uniqueEmail("rita");
    const { id, token } = await invite(owner, slug, email);
    expect((await owner.delete(`/api/v1/orgs/${slug}/invitations/${id}`)).status).toBe(204);
    const rita = await t.signUp({ email });
    const res = await rita.post(`/api/v1/invitations/${token}/accept`);
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe("INVITATION_REVOKED");
    expect(await memberRows(org.id, rita.user!.id)).toBe(0);
    const twice = await owner.delete(`/api/v1/orgs/${slug}/invitations/${id}`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe("INVITATION_NOT_PENDING");
  });

  it("resend: a new mail with a new token that works; the old token is 404", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const email = uniqueEmail("sam");
    const first = await invite(owner, slug, email, "admin");
    const resent = await owner.post(`/api/v1/orgs/${slug}/invitations/${first.id}/resend`);
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ id: first.id, email, role: "admin", status: "pending" });
    const newToken = inviteToken(await smtp.waitFor(email));
    expect(newToken).not.toBe(first.token);

    expect((await t.anon.get(`/api/v1/invitations/${first.token}`)).status).toBe(404);
    const sam = await t.signUp({ email });
    const old = await sam.post(`/api/v1/invitations/${first.token}/accept`);
    expect(old.status).toBe(404);
    expect(old.body.error.code).toBe("INVITATION_NOT_FOUND");
    const ok = await sam.post(`/api/v1/invitations/${newToken}/accept`);
    expect(ok.status).toBe(200);
    expect(ok.body.role).toBe("admin");
    expect(await memberRows(org.id, sam.user!.id)).toBe(1);
  });

  it("expiry: 7 days later the link answers 410 INVITATION_EXPIRED, and a new invitation can be sent", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const email = uniqueEmail("eve");
    const { id, token } = await invite(owner, slug, email);
    const [row] = await rows<{ created_at: Date; expires_at: Date }>(
      t,
      sql`select created_at, expires_at from invitations where id = ${id}`,
    );
    const ttl = new Date(row!.expires_at).getTime() - new Date(row!.created_at).getTime();
    expect(Math.round(ttl / 3_600_000)).toBe(7 * 24);
    // Seven days pass.
    await t.db.execute(
      sql`update invitations set created_at = created_at - interval '7 days 1 minute', expires_at = expires_at - interval '7 days 1 minute' where id = ${id}`,
    );

    const preview = await t.anon.get(`/api/v1/invitations/${token}`);
    expect(preview.body).toMatchObject({ status: "pending", expired: true });
    const eve = await t.signUp({ email });
    const res = await eve.post(`/api/v1/invitations/${token}/accept`);
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe("INVITATION_EXPIRED");
    expect(await memberRows(org.id, eve.user!.id)).toBe(0);

    const fresh = await invite(owner, slug, email);
    expect((await eve.post(`/api/v1/invitations/${fresh.token}/accept`)).status).toBe(200);
  });

  it("a second accept is 409 INVITATION_ALREADY_USED", async () => {
    const { owner, slug } = await ownerWithOrg();
    const email = uniqueEmail();
    const { token } = await invite(owner, slug, email);
    const u = await t.signUp({ email });
    expect((await u.post(`/api/v1/invitations/${token}/accept`)).status).toBe(200);
    const again = await u.post(`/api/v1/invitations/${token}/accept`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("INVITATION_ALREADY_USED");
  });

  it("accepting while signed in as another email is 403 INVITATION_EMAIL_MISMATCH", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const { token } = await invite(owner, slug, uniqueEmail("meant"));
    const other = await t.signUp();
    const res = await other.post(`/api/v1/invitations/${token}/accept`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("INVITATION_EMAIL_MISMATCH");
    const decl = await other.post(`/api/v1/invitations/${token}/decline`);
    expect(decl.status).toBe(403);
    expect(await memberRows(org.id, other.user!.id)).toBe(0);
    expect((await t.anon.get(`/api/v1/invitations/${token}`)).body.status).toBe("pending");
  });

  it("emails compare case-insensitively: pending duplicate 409, accept in lower case, existing member 409", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const local = `alice-${Date.now().toString(36)}`;
    const mixed = `${local[0]!.toUpperCase()}${local.slice(1)}@Example.com`;
    const lower = mixed.toLowerCase();
    const { token } = await invite(owner, slug, mixed);

    const dup = await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: mixed.toUpperCase(), role: "admin" });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("INVITATION_PENDING");

    const alice = await t.signUp({ email: lower });
    expect((await alice.post(`/api/v1/invitations/${token}/accept`)).status).toBe(200);
    expect(await memberRows(org.id, alice.user!.id)).toBe(1);

    const again = await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: mixed.toUpperCase(), role: "member" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("ALREADY_MEMBER");
  });

  it("an admin cannot invite an owner (400), a member cannot invite at all (403)", async () => {
    const { owner, slug } = await ownerWithOrg();
    const adminEmail = uniqueEmail("adm");
    const a = await invite(owner, slug, adminEmail, "admin");
    const admin = await t.signUp({ email: adminEmail });
    expect((await admin.post(`/api/v1/invitations/${a.token}/accept`)).status).toBe(200);
    const memberEmail = uniqueEmail("mem");
    const m = await invite(admin, slug, memberEmail, "member");
    const member = await t.signUp({ email: memberEmail });
    expect((await member.post(`/api/v1/invitations/${m.token}/accept`)).status).toBe(200);

    const asOwner = await admin.post(`/api/v1/orgs/${slug}/invitations`, { email: uniqueEmail(), role: "owner" });
    expect(asOwner.status).toBe(400);
    expect(asOwner.body.error.code).toBe("VALIDATION_ERROR");
    expect((await admin.post(`/api/v1/orgs/${slug}/invitations`, { email: uniqueEmail(), role: "admin" })).status).toBe(
      201,
    );

    const byMember = await member.post(`/api/v1/orgs/${slug}/invitations`, { email: uniqueEmail(), role: "member" });
    expect(byMember.status).toBe(403);
    expect(byMember.body.error.code).toBe("FORBIDDEN");
    expect((await member.get(`/api/v1/orgs/${slug}/invitations`)).status).toBe(403);
  });

  it("inviter demoted or removed before acceptance → 409 INVITATION_INVALID", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const adminEmail = uniqueEmail("adm");
    const a = await invite(owner, slug, adminEmail, "admin");
    const admin = await t.signUp({ email: adminEmail });
    expect((await admin.post(`/api/v1/invitations/${a.token}/accept`)).status).toBe(200);

    const e1 = uniqueEmail("x");
    const e2 = uniqueEmail("y");
    const i1 = await invite(admin, slug, e1, "admin");
    const i2 = await invite(admin, slug, e2, "member");

    expect((await owner.patch(`/api/v1/orgs/${slug}/members/${admin.user!.id}`, { role: "member" })).status).toBe(200);
    const x = await t.signUp({ email: e1 });
    const r1 = await x.post(`/api/v1/invitations/${i1.token}/accept`);
    expect(r1.status).toBe(409);
    expect(r1.body.error.code).toBe("INVITATION_INVALID");
    expect(await memberRows(org.id, x.user!.id)).toBe(0);

    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${admin.user!.id}`)).status).toBe(204);
    const y = await t.signUp({ email: e2 });
    const r2 = await y.post(`/api/v1/invitations/${i2.token}/accept`);
    expect(r2.status).toBe(409);
    expect(r2.body.error.code).toBe("INVITATION_INVALID");
    expect(await memberRows(org.id, y.user!.id)).toBe(0);
  });

  it("two concurrent invitations of one email: one 201, one 409 INVITATION_PENDING, one pending row", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const email = uniqueEmail("twice");
    const results = await Promise.all([
      owner.post(`/api/v1/orgs/${slug}/invitations`, { email, role: "member" }),
      owner.post(`/api/v1/orgs/${slug}/invitations`, { email: email.toUpperCase(), role: "admin" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)!.body.error.code).toBe("INVITATION_PENDING");
    expect(await count(t, "invitations", sql`org_id = ${org.id} and email = ${email} and status = 'pending'`)).toBe(1);
    await smtp.waitFor(email);
  });

  it("two concurrent accepts: exactly one 200, one 409 and one membership row", async () => {
    const { owner, org, slug } = await ownerWithOrg();
    const email = uniqueEmail("race");
    const { token } = await invite(owner, slug, email);
    const first = await t.signUp({ email });
    const second = await t.signIn(email, "correct horse battery staple");
    const results = await Promise.all([
      first.post(`/api/v1/invitations/${token}/accept`),
      second.post(`/api/v1/invitations/${token}/accept`),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    expect(["INVITATION_ALREADY_USED", "ALREADY_MEMBER"]).toContain(
      results.find((r) => r.status === 409)!.body.error.code,
    );
    expect(await memberRows(org.id, first.user!.id)).toBe(1);
    expect(await count(t, "audit_log", sql`org_id = ${org.id} and action = 'invitation.accepted'`)).toBe(1);
  });
});

describe(`invitation tokens stay out of the server log (${storageKind})`, () => {
  it("the request log shows /invitations/[redacted], never the token", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
    const tdb = await openTestDatabase();
    const smtp = await startSmtp();
    const config = loadConfig({
      NODE_ENV: "test",
      PUBLIC_URL,
      TOLLGATE_DATA_DIR: mkdtempSync(path.join(tmpdir(), "tollgate-log-")),
      TOLLGATE_SECRET: "test-secret-test-secret-test-secret-0123456789",
      SMTP_URL: smtp.url,
    });
    const app = await buildApp({ config, database: tdb.database, logger });
    try {
      const owner = new Client(app);
      await owner.post("/api/auth/sign-up/email", { name: "Logger", email: uniqueEmail("log"), password: PASSWORD });
      const slug = (await owner.post("/api/v1/orgs", { name: "Logged Org" })).body.slug;
      const email = uniqueEmail("logged");
      expect((await owner.post(`/api/v1/orgs/${slug}/invitations`, { email, role: "member" })).status).toBe(201);
      const token = inviteToken(await smtp.waitFor(email));
      const invitee = new Client(app);
      await invitee.post("/api/auth/sign-up/email", { name: "Invitee", email, password: PASSWORD });
      expect((await invitee.get(`/api/v1/invitations/${token}`)).status).toBe(200);
      expect((await invitee.post(`/api/v1/invitations/${token}/accept`)).status).toBe(200);

      const log = lines.join("");
      expect(log).toContain("/api/v1/invitations/[redacted]");
      expect(log).not.toContain(token);
    } finally {
      await app.close();
      await tdb.drop();
      await smtp.close();
    }
  });
});
