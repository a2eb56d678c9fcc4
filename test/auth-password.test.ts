/**
 * A password change ends every other session of the user, whatever the
 * client asks for; the session that made the change stays signed in (its
 * cookie is replaced). A password reset ends every session.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, PASSWORD, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count } from "./helpers/fixtures.js";

const NEW_PASSWORD = "a brand new passphrase 42";

describe(`password change and reset end other sessions (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** One user signed in three times (laptop, phone, a stolen cookie). */
  async function threeSessions() {
    const laptop = await t.signUp();
    const phone = await t.signIn(laptop.user!.email, PASSWORD);
    const thief = await t.signIn(laptop.user!.email, PASSWORD);
    for (const c of [laptop, phone, thief]) expect((await c.get("/api/v1/me")).status).toBe(200);
    return { laptop, phone, thief };
  }

  it.each([
    ["the client does not ask", {}],
    ["the client asks to keep them", { revokeOtherSessions: false }],
    ["the client asks to revoke them", { revokeOtherSessions: true }],
  ])(
    "changing the password signs every other session out (%s); the changing session stays in",
    async (_label, extra) => {
      const { laptop, phone, thief } = await threeSessions();
      const oldCookie = laptop.cookie;
      const res = await laptop.post("/api/auth/change-password", {
        currentPassword: PASSWORD,
        newPassword: NEW_PASSWORD,
        ...extra,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);

      for (const other of [phone, thief]) {
        const me = await other.get("/api/v1/me");
        expect(me.status).toBe(401);
        expect(me.body.error.code).toBe("UNAUTHENTICATED");
      }
      // The caller got a fresh session cookie and is still signed in with it.
      expect(laptop.cookie).not.toBe(oldCookie);
      expect((await laptop.get("/api/v1/me")).body.user.id).toBe(laptop.user!.id);
      const stale = new Client(t.app);
      stale.cookie = oldCookie;
      expect((await stale.get("/api/v1/me")).status).toBe(401);
      expect(await count(t, "sessions", sql`user_id = ${laptop.user!.id}`)).toBe(1);

      // The new password works, the old one does not.
      expect(
        (await new Client(t.app).post("/api/auth/sign-in/email", { email: laptop.user!.email, password: PASSWORD }))
          .status,
      ).toBe(401);
      await t.signIn(laptop.user!.email, NEW_PASSWORD);
    },
  );

  it("a wrong current password changes nothing and signs nobody out", async () => {
    const { laptop, phone } = await threeSessions();
    const res = await laptop.post("/api/auth/change-password", {
      currentPassword: "not the password at all",
      newPassword: NEW_PASSWORD,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INVALID_PASSWORD");
    expect((await phone.get("/api/v1/me")).status).toBe(200);
    expect((await laptop.get("/api/v1/me")).status).toBe(200);
  });

  it("other users' sessions are untouched", async () => {
    const { laptop } = await threeSessions();
    const bystander = await t.signUp();
    expect(
      (await laptop.post("/api/auth/change-password", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).status,
    ).toBe(200);
    expect((await bystander.get("/api/v1/me")).status).toBe(200);
  });

  it("a password reset (reset token) ends every session of the user", async () => {
    const { laptop, phone } = await threeSessions();
    // Reset mails are not wired yet; the token is what the library would have stored and sent.
    const token = randomUUID();
    await t.db.execute(
      sql`insert into verifications (id, identifier, value, expires_at) values (${randomUUID()}, ${`reset-password:${token}`}, ${laptop.user!.id}, now() + interval '1 hour')`,
    );
    const res = await t.anon.post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    for (const c of [laptop, phone]) expect((await c.get("/api/v1/me")).status).toBe(401);
    expect(await count(t, "sessions", sql`user_id = ${laptop.user!.id}`)).toBe(0);
    await t.signIn(laptop.user!.email, NEW_PASSWORD);
  });
});
