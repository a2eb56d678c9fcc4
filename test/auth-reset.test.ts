/**
 * Password reset through real HTTP and a real SMTP server: the test reads the
 * mail Tollgate sent and follows the link in it, as the user would.
 */
import { sql } from "drizzle-orm";
import type { ParsedMail } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loggableUrl } from "../src/platform/logger.js";
import { Client, PASSWORD, PUBLIC_URL, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count } from "./helpers/fixtures.js";
import { startSmtp, type TestSmtp } from "./helpers/smtp.js";

const NEW_PASSWORD = "a brand new passphrase 42";
const MAX_PER_EMAIL = 3;

function resetToken(mail: ParsedMail): string {
  const m = /\/reset-password\?token=([A-Za-z0-9_%-]+)/.exec(mail.text ?? "");
  if (!m) throw new Error("no reset link in mail");
  return decodeURIComponent(m[1]!);
}

describe(`password reset by emailed link (${storageKind})`, () => {
  let t: TestApp;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({
      env: { SMTP_URL: smtp.url },
      config: {
        accounts: {
          requireEmailVerification: false,
          signUp: { kind: "open" },
          mailThrottle: { maxPerEmail: MAX_PER_EMAIL, maxPerIp: 1000, windowSeconds: 3600 },
        },
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const requestReset = (email: string, c: Client = new Client(t.app)) =>
    c.post("/api/auth/request-password-reset", { email });
  const signInStatus = async (email: string, password: string) =>
    (await new Client(t.app).post("/api/auth/sign-in/email", { email, password })).status;

  it("the mailed link sets a new password once, and ends every session of the user", async () => {
    const laptop = await t.signUp({ name: "Rita Reset" });
    const email = laptop.user!.email;
    const phone = await t.signIn(email, PASSWORD);

    const asked = await requestReset(email);
    expect(asked.status).toBe(200);
    expect(asked.body.status).toBe(true);
    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe("Reset your Tollgate password");
    expect(mail.text).toContain(`${PUBLIC_URL}/reset-password?token=`);
    expect(mail.text).toMatch(/works once and expires in 60 minutes/);
    const token = resetToken(mail);

    // The token is stored only as a digest.
    expect(await count(t, "verifications", sql`identifier like ${`%${token}%`}`)).toBe(0);

    const reset = await t.anon.post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    for (const c of [laptop, phone]) expect((await c.get("/api/v1/me")).status).toBe(401);
    expect(await count(t, "sessions", sql`user_id = ${laptop.user!.id}`)).toBe(0);
    expect(await signInStatus(email, PASSWORD)).toBe(401);
    expect(await signInStatus(email, NEW_PASSWORD)).toBe(200);

    // Single use: the same link again changes nothing.
    const again = await t.anon.post("/api/auth/reset-password", { token, newPassword: "yet another passphrase" });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("INVALID_TOKEN");
    expect(await signInStatus(email, NEW_PASSWORD)).toBe(200);
  });

  it("an expired link is refused and the password stays", async () => {
    const user = await t.signUp();
    const email = user.user!.email;
    expect((await requestReset(email)).status).toBe(200);
    const token = resetToken(await smtp.waitFor(email));
    await t.db.execute(
      sql`update verifications set expires_at = now() - interval '1 minute' where value = ${user.user!.id}`,
    );

    const res = await t.anon.post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_TOKEN");
    expect(await signInStatus(email, PASSWORD)).toBe(200);
    expect((await user.get("/api/v1/me")).status).toBe(200);
  });

  it("a made-up token is refused", async () => {
    const res = await t.anon.post("/api/auth/reset-password", { token: "not-a-real-token", newPassword: NEW_PASSWORD });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_TOKEN");
  });

  it("answers the same whether or not an account exists, and mails only an existing one", async () => {
    const known = await t.signUp();
    const unknown = uniqueEmail("nobody");
    const a = await requestReset(unknown);
    const b = await requestReset(known.user!.email);
    expect(a.status).toBe(b.status);
    expect(a.body).toEqual(b.body);
    expect(a.headers["content-type"]).toBe(b.headers["content-type"]);
    await smtp.waitFor(known.user!.email);
    const toUnknown = smtp.messages.filter((m) => JSON.stringify(m.to).includes(unknown));
    expect(toUnknown).toHaveLength(0);
  });

  it("is throttled per email, the same way for an unknown address (429 with Retry-After)", async () => {
    const known = (await t.signUp()).user!.email;
    const unknown = uniqueEmail("ghost");
    for (const email of [known, unknown]) {
      for (let i = 0; i < MAX_PER_EMAIL; i++) expect((await requestReset(email)).status).toBe(200);
      const blocked = await requestReset(email.toUpperCase());
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe("TOO_MANY_ATTEMPTS");
      expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    }
    // Another address is not affected.
    expect((await requestReset(uniqueEmail("other"))).status).toBe(200);
  });

  it("keeps reset and verification tokens out of logged request URLs", () => {
    expect(loggableUrl("/reset-password?token=s3cret")).toBe("/reset-password?token=[redacted]");
    expect(loggableUrl("/api/auth/verify-email?token=a.b.c&callbackURL=/")).toBe(
      "/api/auth/verify-email?token=[redacted]&callbackURL=/",
    );
    expect(loggableUrl("/api/auth/reset-password/s3cret?callbackURL=/")).toBe(
      "/api/auth/reset-password/[redacted]?callbackURL=/",
    );
  });

  it("refuses a new password outside the length rules", async () => {
    const user = await t.signUp();
    expect((await requestReset(user.user!.email)).status).toBe(200);
    const token = resetToken(await smtp.waitFor(user.user!.email));
    const res = await t.anon.post("/api/auth/reset-password", { token, newPassword: "short" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("PASSWORD_TOO_SHORT");
    expect((await user.get("/api/v1/me")).status).toBe(200);
  });
});
