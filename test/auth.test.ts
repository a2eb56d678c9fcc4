/**
 * Accounts and sessions at the contract paths: cookie attributes, sign-out
 * killing the session, one generic failure for unknown email and wrong
 * password, hashed passwords, and the sign-in throttle (per email and per IP,
 * also under concurrent attempts).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { Client, PASSWORD, PUBLIC_URL, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, rows } from "./helpers/fixtures.js";

const setCookies = (res: { headers: Record<string, unknown> }) =>
  ([] as string[]).concat((res.headers["set-cookie"] as string | string[]) ?? []);
const sessionCookie = (res: { headers: Record<string, unknown> }) =>
  setCookies(res).find((c) => c.startsWith("tollgate.session_token="));

describe(`auth (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      config: { loginThrottle: { maxFailuresPerEmail: 3, maxFailuresPerIp: 1000, windowSeconds: 60 } },
    });
  });
  afterAll(() => t.close());

  const signIn = (email: string, password: string, headers?: Record<string, string>) =>
    new Client(t.app).post("/api/auth/sign-in/email", { email, password }, headers);

  it("sign-up sets an HttpOnly, SameSite=Lax session cookie that authenticates /me", async () => {
    const c = new Client(t.app);
    const email = uniqueEmail("signup");
    const res = await c.post("/api/auth/sign-up/email", { name: "Sig Nup", email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ email, name: "Sig Nup" });
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
    const cookie = sessionCookie(res);
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).toMatch(/;\s*Path=\//i);
    expect((await c.get("/api/v1/me")).status).toBe(200);

    const anon = await t.anon.get("/api/v1/me");
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("sign-up validates input and refuses a second account for the same email (any case)", async () => {
    const email = uniqueEmail("dup");
    await t.signUp({ email });
    const again = await new Client(t.app).post("/api/auth/sign-up/email", {
      name: "Dup",
      email: email.toUpperCase(),
      password: PASSWORD,
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
    expect(sessionCookie(again)).toBeUndefined();
    expect(await count(t, "users", sql`lower(email) = ${email}`)).toBe(1);

    const short = await new Client(t.app).post("/api/auth/sign-up/email", {
      name: "S",
      email: uniqueEmail(),
      password: "short",
    });
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe("VALIDATION_ERROR");
    const badEmail = await new Client(t.app).post("/api/auth/sign-up/email", {
      name: "S",
      email: "not-an-email",
      password: PASSWORD,
    });
    expect(badEmail.status).toBe(400);
  });

  it("sign-in and sign-out at the contract paths; the old cookie is dead afterwards", async () => {
    const u = await t.signUp();
    const res = await signIn(u.user!.email, PASSWORD);
    expect(res.status).toBe(200);
    const cookie = sessionCookie(res)!.split(";")[0]!;

    const c = new Client(t.app);
    c.cookie = cookie;
    expect((await c.get("/api/v1/me")).body.user.id).toBe(u.user!.id);
    const out = await c.post("/api/auth/sign-out");
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ success: true });
    expect(sessionCookie(out)).toMatch(/Max-Age=0/i);

    const stale = new Client(t.app);
    stale.cookie = cookie;
    const after = await stale.get("/api/v1/me");
    expect(after.status).toBe(401);
    expect((await stale.post("/api/v1/orgs", { name: "ghost" })).status).toBe(401);
    // The other session (from sign-up) is unaffected.
    expect((await u.get("/api/v1/me")).status).toBe(200);
  });

  it("wrong password and unknown email fail the same way (401, one generic message)", async () => {
    const u = await t.signUp();
    const wrong = await signIn(u.user!.email, "not the password at all");
    const unknown = await signIn(uniqueEmail("nobody"), "not the password at all");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error.code).toBe(unknown.body.error.code);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    expect(sessionCookie(wrong)).toBeUndefined();
  });

  it("stores a hash, not the password, and the hash is not accepted as a password", async () => {
    const u = await t.signUp();
    const [acc] = await rows<{ password: string }>(t, sql`select password from accounts where user_id = ${u.user!.id}`);
    expect(acc!.password).toBeTruthy();
    expect(acc!.password).not.toBe(PASSWORD);
    expect(acc!.password).not.toContain(PASSWORD);
    expect(acc!.password.length).toBeGreaterThan(40);
    const withHash = await signIn(u.user!.email, acc!.password);
    expect([400, 401]).toContain(withHash.status);
    expect(sessionCookie(withHash)).toBeUndefined();
    // The session user object never carries it either.
    expect(JSON.stringify((await u.get("/api/v1/me")).body)).not.toContain(acc!.password);
    expect(JSON.stringify((await u.get("/api/auth/get-session")).body)).not.toContain(acc!.password);
  });

  it("throttles repeated failures for one email: 429 TOO_MANY_ATTEMPTS with Retry-After, any case", async () => {
    const u = await t.signUp();
    for (let i = 0; i < 3; i++)
      expect((await signIn(i % 2 ? u.user!.email.toUpperCase() : u.user!.email, "wrong-password")).status).toBe(401);
    const blocked = await signIn(u.user!.email, "wrong-password");
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("TOO_MANY_ATTEMPTS");
    const retry = Number(blocked.headers["retry-after"]);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    // Even the right password waits; other accounts are not affected.
    expect((await signIn(u.user!.email.toUpperCase(), PASSWORD)).status).toBe(429);
    const other = await t.signUp();
    expect((await signIn(other.user!.email, PASSWORD)).status).toBe(200);

    // The window passes.
    await t.db.execute(
      sql`update auth_throttle set window_start = window_start - interval '61 seconds' where key = ${`email:${u.user!.email}`}`,
    );
    expect((await signIn(u.user!.email, PASSWORD)).status).toBe(200);
  });

  it("unknown emails are throttled like real ones (no enumeration through the limiter)", async () => {
    const ghost = uniqueEmail("ghost");
    for (let i = 0; i < 3; i++) expect((await signIn(ghost, "whatever-password")).status).toBe(401);
    expect((await signIn(ghost, "whatever-password")).status).toBe(429);
  });

  it("a success clears the email's failures", async () => {
    const u = await t.signUp();
    for (let i = 0; i < 2; i++) expect((await signIn(u.user!.email, "wrong-password")).status).toBe(401);
    expect((await signIn(u.user!.email, PASSWORD)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await signIn(u.user!.email, "wrong-password")).status).toBe(401);
    expect((await signIn(u.user!.email, "wrong-password")).status).toBe(429);
  });

  it("the throttle cannot be sidestepped through another spelling of the sign-in path (real socket)", async () => {
    // Over a socket nothing normalizes the path before the router (inject would).
    const address = await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    const { port } = new URL(address);
    // node:http sends the path as written (fetch and undici would normalize it first).
    const post = (rawPath: string, body: unknown) =>
      new Promise<{ status: number; cookie: string; text: string }>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port,
            path: rawPath,
            method: "POST",
            headers: {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(payload),
              origin: PUBLIC_URL,
            },
          },
          (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () =>
              resolve({ status: res.statusCode!, cookie: (res.headers["set-cookie"] ?? []).join(";"), text }),
            );
          },
        );
        req.on("error", reject);
        req.end(payload);
      });
    const u = await t.signUp();
    const paths = [
      "/api/auth/./sign-in/email",
      "/api/auth/%2e/sign-in/email",
      "/api/auth/sign-up/../sign-in/email",
      "/api/auth/sign-in/email/",
    ];
    for (const p of paths) {
      for (const password of ["wrong-password", PASSWORD]) {
        const res = await post(p, { email: u.user!.email, password });
        expect(res.status, `${p} (${password === PASSWORD ? "right" : "wrong"} password): ${res.text}`).toBe(404);
        expect(res.cookie).not.toContain("session_token=");
      }
    }
    expect(
      (await post("/api/auth/./sign-up/email", { name: "x", email: uniqueEmail(), password: "short" })).status,
    ).toBe(404);
    // The canonical path over the same socket still works.
    expect((await post("/api/auth/sign-in/email", { email: u.user!.email, password: PASSWORD })).status).toBe(200);
  });

  it("the profile changes only through PATCH /me: the library's update-user path is closed", async () => {
    const u = await t.signUp({ name: "Kept Name" });
    for (const body of [{ name: "x".repeat(10_000) }, { name: "" }, { image: "javascript:alert(1)" }]) {
      const res = await u.post("/api/auth/update-user", body);
      expect(res.status).toBe(404);
    }
    const [row] = await rows<{ name: string; image: string | null }>(
      t,
      sql`select name, image from users where id = ${u.user!.id}`,
    );
    expect(row).toEqual({ name: "Kept Name", image: null });
    expect((await u.patch("/api/v1/me", { name: "x".repeat(10_000) })).status).toBe(400);
  });

  it("sign-up cannot set emailVerified or other account fields", async () => {
    const email = uniqueEmail("verified");
    const res = await new Client(t.app).post("/api/auth/sign-up/email", {
      name: "V",
      email,
      password: PASSWORD,
      emailVerified: true,
      id: "chosen-id",
    });
    expect(res.status).toBe(200);
    expect(res.body.user.emailVerified).toBe(false);
    expect(res.body.user.id).not.toBe("chosen-id");
    const [row] = await rows<{ email_verified: boolean }>(
      t,
      sql`select email_verified from users where email = ${email}`,
    );
    expect(row!.email_verified).toBe(false);
  });

  it("concurrent wrong attempts cannot get past the limit", async () => {
    const u = await t.signUp();
    const results = await Promise.all(Array.from({ length: 12 }, () => signIn(u.user!.email, "wrong-password")));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(9);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});

describe(`auth throttle per IP (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      config: { loginThrottle: { maxFailuresPerEmail: 100, maxFailuresPerIp: 4, windowSeconds: 60 } },
    });
  });
  afterAll(() => t.close());

  it("failures across many emails from one address are throttled; X-Forwarded-For does not reset it", async () => {
    const signIn = (email: string, headers?: Record<string, string>) =>
      new Client(t.app).post("/api/auth/sign-in/email", { email, password: "wrong-password" }, headers);
    for (let i = 0; i < 4; i++) expect((await signIn(uniqueEmail("spray"))).status).toBe(401);
    const blocked = await signIn(uniqueEmail("spray"), { "x-forwarded-for": "203.0.113.9" });
    expect(blocked.status).toBe(429);
    expect(blocked.headers["retry-after"]).toBeDefined();
  });
});

describe(`auth behind https (${storageKind})`, () => {
  let t: TestApp;
  const origin = "https://tollgate.example";
  beforeAll(async () => {
    t = await startTestApp({ env: { PUBLIC_URL: origin } });
  });
  afterAll(() => t.close());

  it("the session cookie is __Secure- prefixed and Secure, HttpOnly, SameSite=Lax", async () => {
    const c = new Client(t.app);
    const res = await c.post(
      "/api/auth/sign-up/email",
      { name: "Tls", email: uniqueEmail("tls"), password: PASSWORD },
      { origin },
    );
    expect(res.status).toBe(200);
    const cookie = setCookies(res).find((x) => x.startsWith("__Secure-tollgate.session_token="));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect((await c.get("/api/v1/me")).status).toBe(200);
    // The plain-http origin is foreign to this deployment.
    const csrf = await c.post("/api/v1/orgs", { name: "x" }, { origin: PUBLIC_URL });
    expect(csrf.status).toBe(403);
    expect((await c.post("/api/v1/orgs", { name: "Over TLS" }, { origin })).status).toBe(201);
  });
});
