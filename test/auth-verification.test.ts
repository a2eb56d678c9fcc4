/**
 * Email verification on an instance that requires it
 * (TOLLGATE_REQUIRE_EMAIL_VERIFICATION=true), through real HTTP and a real
 * SMTP server. "Blocks" follows the auth library: sign-up starts no session
 * and sign-in is refused (403 EMAIL_NOT_VERIFIED) until the address is
 * verified; a session from before the requirement reaches no organization.
 * The invited address is proven by the invitation's link.
 */
import { sql } from "drizzle-orm";
import type { ParsedMail } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, PASSWORD, PUBLIC_URL, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, personalSlug, rows } from "./helpers/fixtures.js";
import { inviteToken, startSmtp, type TestSmtp } from "./helpers/smtp.js";

function verifyToken(mail: ParsedMail): string {
  const m = /\/verify-email\?token=([A-Za-z0-9_.%-]+)/.exec(mail.text ?? "");
  if (!m) throw new Error("no verification link in mail");
  return decodeURIComponent(m[1]!);
}

describe(`email verification required (${storageKind})`, () => {
  let t: TestApp;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ env: { SMTP_URL: smtp.url, TOLLGATE_REQUIRE_EMAIL_VERIFICATION: "true" } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const emailVerified = async (email: string) =>
    (await rows<{ v: boolean }>(t, sql`select email_verified as v from users where email = ${email}`))[0]?.v;

  async function signUp(email: string, extra: Record<string, unknown> = {}) {
    const c = new Client(t.app);
    const res = await c.post("/api/auth/sign-up/email", { name: "Vera Verify", email, password: PASSWORD, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    c.user = res.body.user;
    return { c, res };
  }

  /** Signs up and follows the mailed link: a verified, signed-in client. */
  async function verifiedUser(email = uniqueEmail("verified")) {
    const { c } = await signUp(email);
    const link = await c.get(
      `/api/auth/verify-email?token=${encodeURIComponent(verifyToken(await smtp.waitFor(email)))}`,
    );
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    return c;
  }

  it("sign-up starts no session and mails a link; sign-in is refused until the link is followed", async () => {
    const email = uniqueEmail("new");
    const { c, res } = await signUp(email);
    expect(res.body.token).toBeNull();
    expect(res.body.user.emailVerified).toBe(false);
    expect((await c.get("/api/v1/me")).status).toBe(401);

    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe("Verify your email address for Tollgate");
    expect(mail.text).toContain(`${PUBLIC_URL}/verify-email?token=`);

    const refused = await new Client(t.app).post("/api/auth/sign-in/email", { email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("EMAIL_NOT_VERIFIED");

    // Following the link verifies the address and signs this browser in.
    const browser = new Client(t.app);
    const verified = await browser.get(`/api/auth/verify-email?token=${encodeURIComponent(verifyToken(mail))}`);
    expect(verified.status).toBe(200);
    const me = await browser.get("/api/v1/me");
    expect(me.status).toBe(200);
    expect(me.body.user.emailVerified).toBe(true);
    expect((await browser.get(`/api/v1/orgs/${await personalSlug(browser)}/projects`)).status).toBe(200);
    await t.signIn(email, PASSWORD);
  });

  it("a forged or tampered link verifies nothing", async () => {
    const email = uniqueEmail("forged");
    await signUp(email);
    const token = verifyToken(await smtp.waitFor(email));
    // One signature character changed to another (never the last: its low bits are padding).
    const at = token.length - 10;
    const forged = `${token.slice(0, at)}${token[at] === "x" ? "y" : "x"}${token.slice(at + 1)}`;
    const res = await t.anon.get(`/api/auth/verify-email?token=${encodeURIComponent(forged)}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("INVALID_TOKEN");
    expect(await emailVerified(email)).toBe(false);
  });

  it("resend mails a new link; the answer is the same for unknown and verified addresses", async () => {
    const email = uniqueEmail("resend");
    await signUp(email);
    await smtp.waitFor(email);
    const resent = await t.anon.post("/api/auth/send-verification-email", { email });
    expect(resent.status).toBe(200);
    expect(resent.body).toEqual({ status: true });
    const link = await new Client(t.app).get(
      `/api/auth/verify-email?token=${encodeURIComponent(verifyToken(await smtp.waitFor(email)))}`,
    );
    expect(link.status).toBe(200);
    expect(await emailVerified(email)).toBe(true);

    const unknown = await t.anon.post("/api/auth/send-verification-email", { email: uniqueEmail("nobody") });
    const verified = await t.anon.post("/api/auth/send-verification-email", { email });
    for (const r of [unknown, verified]) {
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: true });
    }
  });

  it("resend is throttled per email (429 with Retry-After)", async () => {
    const email = uniqueEmail("flood");
    const limit = t.config.accounts.mailThrottle.maxPerEmail;
    for (let i = 0; i < limit; i++) {
      expect((await t.anon.post("/api/auth/send-verification-email", { email })).status).toBe(200);
    }
    const blocked = await t.anon.post("/api/auth/send-verification-email", { email });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("TOO_MANY_ATTEMPTS");
    expect(blocked.headers["retry-after"]).toBeDefined();
  });

  it("a session of an unverified account (from before the requirement) reaches no organization", async () => {
    const c = await verifiedUser();
    const slug = await personalSlug(c);
    await t.db.execute(sql`update users set email_verified = false where id = ${c.user!.id}`);
    const org = await c.get(`/api/v1/orgs/${slug}/projects`);
    expect(org.status).toBe(403);
    expect(org.body.error.code).toBe("EMAIL_NOT_VERIFIED");
    // The account itself is still readable, so the dashboard can say what to do.
    expect((await c.get("/api/v1/me")).body.user.emailVerified).toBe(false);
  });

  it("a reset link proves the address too", async () => {
    const email = uniqueEmail("reset-verifies");
    await signUp(email);
    await smtp.waitFor(email);
    expect((await t.anon.post("/api/auth/request-password-reset", { email })).status).toBe(200);
    const m = /\/reset-password\?token=([A-Za-z0-9_%-]+)/.exec((await smtp.waitFor(email)).text ?? "");
    const reset = await t.anon.post("/api/auth/reset-password", {
      token: decodeURIComponent(m![1]!),
      newPassword: "a brand new passphrase 42",
    });
    expect(reset.status).toBe(200);
    expect(await emailVerified(email)).toBe(true);
    await t.signIn(email, "a brand new passphrase 42");
  });

  describe("invitations", () => {
    async function invite(email: string) {
      const owner = await verifiedUser(uniqueEmail("owner"));
      const org = await createOrg(owner, { name: "Verified Co" });
      expect((await owner.post(`/api/v1/orgs/${org.slug}/invitations`, { email, role: "member" })).status).toBe(201);
      return { org, token: inviteToken(await smtp.waitFor(email)) };
    }

    it("signing up with the invitation's token starts verified and signed in; accepting works at once", async () => {
      const email = uniqueEmail("invitee");
      const { org, token } = await invite(email);
      const { c, res } = await signUp(email, { invitationToken: token });
      expect(res.body.user.emailVerified).toBe(true);
      expect(res.body.token).toEqual(expect.any(String));
      const accepted = await c.post(`/api/v1/invitations/${token}/accept`);
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
      expect((await c.get(`/api/v1/orgs/${org.slug}/projects`)).status).toBe(200);
      // No verification mail for an address the invitation already proved.
      expect(
        smtp.messages.filter((m) => m.subject?.startsWith("Verify") && JSON.stringify(m.to).includes(email)),
      ).toEqual([]);
    });

    it("a token that is not this address's invitation proves nothing", async () => {
      const email = uniqueEmail("impostor");
      const { token } = await invite(uniqueEmail("someone-else"));
      const { c, res } = await signUp(email, { invitationToken: token });
      expect(res.body.user.emailVerified).toBe(false);
      expect(res.body.token).toBeNull();
      expect((await c.get("/api/v1/me")).status).toBe(401);
    });

    it("accepting an invitation marks the address verified", async () => {
      const c = await verifiedUser();
      const { org, token } = await invite(c.user!.email);
      await t.db.execute(sql`update users set email_verified = false where id = ${c.user!.id}`);
      expect((await c.post(`/api/v1/invitations/${token}/accept`)).status).toBe(200);
      expect(await emailVerified(c.user!.email)).toBe(true);
      expect((await c.get(`/api/v1/orgs/${org.slug}/projects`)).status).toBe(200);
    });
  });
});
