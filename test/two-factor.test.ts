/**
 * Two-factor authentication through real HTTP: enrolment (TOTP URI, a verified
 * code turns it on, backup codes shown once), sign-in that asks for the code,
 * backup codes used once, disabling with the password, an organization's
 * requirement (403 TWO_FACTOR_REQUIRED until the member enrols; only an owner
 * who has it can turn it on) and the members list's 2FA state and last activity.
 * Codes are computed as an authenticator app would, from the otpauth URI's secret.
 */
import { base32 } from "@better-auth/utils/base32";
import { createOTP } from "@better-auth/utils/otp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, PASSWORD, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, team } from "./helpers/fixtures.js";

/** The current code of the authenticator app that scanned `uri`. */
async function codeFor(uri: string): Promise<string> {
  const url = new URL(uri);
  const secret = url.searchParams.get("secret");
  if (!secret) throw new Error("otpauth URI without a secret");
  return createOTP(base32.decode(secret), { digits: 6, period: 30 }).totp();
}

describe(`two-factor authentication (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** Enables and verifies TOTP for a signed-in client; returns the URI and the backup codes. */
  async function enrol(client: Client) {
    const enable = await client.post("/api/auth/two-factor/enable", { password: PASSWORD });
    expect(enable.status, JSON.stringify(enable.body)).toBe(200);
    const { totpURI, backupCodes } = enable.body as { totpURI: string; backupCodes: string[] };
    const verify = await client.post("/api/auth/two-factor/verify-totp", { code: await codeFor(totpURI) });
    expect(verify.status, JSON.stringify(verify.body)).toBe(200);
    return { totpURI, backupCodes };
  }

  /** A password sign-in that stops at the second factor. */
  async function signInToCode(email: string): Promise<Client> {
    const client = new Client(t.app);
    const res = await client.post("/api/auth/sign-in/email", { email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ twoFactorRedirect: true, twoFactorMethods: ["totp"] });
    expect((await client.get("/api/v1/me")).status).toBe(401);
    return client;
  }

  it("enrolment gives a Tollgate otpauth URI and backup codes; a verified code turns it on", async () => {
    const user = await t.signUp();
    const enable = await user.post("/api/auth/two-factor/enable", { password: PASSWORD });
    expect(enable.status).toBe(200);
    const uri = new URL(enable.body.totpURI);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("issuer")).toBe("Tollgate");
    expect(decodeURIComponent(uri.pathname)).toContain(user.user!.email);
    expect(enable.body.backupCodes.length).toBeGreaterThanOrEqual(8);

    // Not on until a code is verified: the next sign-in needs no code.
    const before = await t.signIn(user.user!.email, PASSWORD);
    expect(before.user!.id).toBe(user.user!.id);

    const wrong = await user.post("/api/auth/two-factor/verify-totp", { code: "000000" });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    const ok = await user.post("/api/auth/two-factor/verify-totp", { code: await codeFor(enable.body.totpURI) });
    expect(ok.status).toBe(200);
    const session = await user.get("/api/auth/get-session");
    expect(session.body.user.twoFactorEnabled).toBe(true);
  });

  it("sign-up cannot turn it on, and the API document describes the requirement route", async () => {
    const res = await new Client(t.app).post("/api/auth/sign-up/email", {
      name: "Sly",
      email: `sly-${Date.now()}@example.com`,
      password: PASSWORD,
      twoFactorEnabled: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.user.twoFactorEnabled).toBe(false);
    const doc = await t.anon.get("/api/openapi.json");
    expect(doc.body.paths["/api/v1/orgs/{org}/two-factor-requirement"].put).toBeDefined();
  });

  it("a wrong password does not enable it", async () => {
    const user = await t.signUp();
    const res = await user.post("/api/auth/two-factor/enable", { password: "not the password" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_PASSWORD");
  });

  it("sign-in asks for the code and starts the session only with a valid one", async () => {
    const user = await t.signUp();
    const { totpURI } = await enrol(user);

    const client = await signInToCode(user.user!.email);
    const wrong = await client.post("/api/auth/two-factor/verify-totp", { code: "123456" });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("INVALID_CODE");
    expect((await client.get("/api/v1/me")).status).toBe(401);

    const ok = await client.post("/api/auth/two-factor/verify-totp", { code: await codeFor(totpURI) });
    expect(ok.status).toBe(200);
    const me = await client.get("/api/v1/me");
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(user.user!.email);
  });

  it("a backup code signs in once", async () => {
    const user = await t.signUp();
    const { backupCodes } = await enrol(user);
    const code = backupCodes[0]!;

    const first = await signInToCode(user.user!.email);
    expect((await first.post("/api/auth/two-factor/verify-backup-code", { code })).status).toBe(200);
    expect((await first.get("/api/v1/me")).status).toBe(200);

    const second = await signInToCode(user.user!.email);
    const again = await second.post("/api/auth/two-factor/verify-backup-code", { code });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe("INVALID_BACKUP_CODE");
    expect((await second.get("/api/v1/me")).status).toBe(401);
    expect((await second.post("/api/auth/two-factor/verify-backup-code", { code: backupCodes[1]! })).status).toBe(200);
  });

  it("disabling needs the password; afterwards sign-in needs no code", async () => {
    const user = await t.signUp();
    await enrol(user);
    const wrong = await user.post("/api/auth/two-factor/disable", { password: "not the password" });
    expect(wrong.status).toBe(400);
    expect((await user.post("/api/auth/two-factor/disable", { password: PASSWORD })).status).toBe(200);
    const again = await t.signIn(user.user!.email, PASSWORD);
    expect((await again.get("/api/v1/me")).status).toBe(200);
  });

  it("an organization's requirement blocks members without 2FA until they enrol", async () => {
    const { owner, admin, member, org, slug } = await team(t);

    // Only the owner may change it, and only with 2FA of their own.
    const byAdmin = await admin.put(`/api/v1/orgs/${slug}/two-factor-requirement`, { required: true });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.error.code).toBe("FORBIDDEN");
    const without = await owner.put(`/api/v1/orgs/${slug}/two-factor-requirement`, { required: true });
    expect(without.status).toBe(409);
    expect(without.body.error.code).toBe("TWO_FACTOR_NOT_ENABLED");

    await enrol(owner);
    const on = await owner.put(`/api/v1/orgs/${slug}/two-factor-requirement`, { required: true });
    expect(on.status).toBe(200);
    expect(on.body.requireTwoFactor).toBe(true);
    expect(await auditActions(t, org.id)).toContain("org.two_factor_required");

    for (const path of ["", "/members", "/projects"]) {
      const res = await member.get(`/api/v1/orgs/${slug}${path}`);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("TWO_FACTOR_REQUIRED");
    }
    // Their own organizations stay listed, so the dashboard can say which one asks for it.
    const mine = await member.get("/api/v1/orgs");
    expect(mine.body.organizations.find((o: { slug: string }) => o.slug === slug)?.requireTwoFactor).toBe(true);
    expect((await owner.get(`/api/v1/orgs/${slug}`)).status).toBe(200);

    await enrol(member);
    expect((await member.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    expect((await admin.get(`/api/v1/orgs/${slug}`)).body.error.code).toBe("TWO_FACTOR_REQUIRED");

    const off = await owner.put(`/api/v1/orgs/${slug}/two-factor-requirement`, { required: false });
    expect(off.body.requireTwoFactor).toBe(false);
    expect((await admin.get(`/api/v1/orgs/${slug}`)).status).toBe(200);
    expect(await auditActions(t, org.id)).toContain("org.two_factor_not_required");
  });

  it("the members list shows each member's 2FA state and last activity", async () => {
    const { owner, member, slug } = await team(t);
    await enrol(owner);
    const list = await member.get(`/api/v1/orgs/${slug}/members`);
    expect(list.status).toBe(200);
    const byEmail = Object.fromEntries(list.body.members.map((m: any) => [m.email, m]));
    expect(byEmail[owner.user!.email].twoFactorEnabled).toBe(true);
    expect(byEmail[member.user!.email].twoFactorEnabled).toBe(false);
    for (const m of list.body.members) {
      expect(Date.parse(m.lastActiveAt)).toBeGreaterThanOrEqual(Date.parse(m.joinedAt) - 60_000);
      expect(Date.parse(m.lastActiveAt)).toBeLessThanOrEqual(Date.now());
    }

    // Signing out of every session leaves no activity to show.
    await member.post("/api/auth/sign-out");
    const after = await owner.get(`/api/v1/orgs/${slug}/members`);
    const gone = after.body.members.find((m: any) => m.email === member.user!.email);
    expect(gone.lastActiveAt).toBeNull();
  });
});
