/**
 * The instance's sign-up policy (TOLLGATE_SIGNUP) through real HTTP:
 * invite-only and allowed domains, the invited address always allowed, the
 * first account and operators allowed so someone can start inviting, and
 * clear error codes when refused. One app per policy.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { parseSignUpPolicy } from "../src/config.js";
import { type Client, PASSWORD, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, createOrg } from "./helpers/fixtures.js";
import { inviteToken, startSmtp, type TestSmtp } from "./helpers/smtp.js";

const signUpAs = (t: TestApp, email: string, extra: Record<string, unknown> = {}) =>
  t.anon.post("/api/auth/sign-up/email", { name: "Sam Signup", email, password: PASSWORD, ...extra });

const users = (t: TestApp, email: string) => count(t, "users", sql`email = ${email.toLowerCase()}`);

/** A policy app with a real SMTP server and its first account (always allowed) as an inviting owner. */
function policyApp(signup: string) {
  const ctx = {} as { t: TestApp; smtp: TestSmtp; owner: Client; slug: string };
  beforeAll(async () => {
    ctx.smtp = await startSmtp();
    ctx.t = await startTestApp({
      env: { SMTP_URL: ctx.smtp.url, TOLLGATE_SIGNUP: signup, TOLLGATE_ADMIN_EMAILS: "Root@Operators.example" },
    });
    ctx.owner = await ctx.t.signUp({ email: uniqueEmail("first") });
    ctx.slug = (await createOrg(ctx.owner, { name: "Inviting Co" })).slug;
  });
  afterAll(async () => {
    await ctx.t.close();
    await ctx.smtp.close();
  });
  const invite = async (email: string) => {
    const res = await ctx.owner.post(`/api/v1/orgs/${ctx.slug}/invitations`, { email, role: "member" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id as string, token: inviteToken(await ctx.smtp.waitFor(email)) };
  };
  return { ctx, invite };
}

describe("TOLLGATE_SIGNUP parsing", () => {
  it("accepts open, invite-only and domains lists; refuses anything else at start-up", () => {
    expect(parseSignUpPolicy("open")).toEqual({ kind: "open" });
    expect(parseSignUpPolicy(" Invite-Only ")).toEqual({ kind: "invite-only" });
    expect(parseSignUpPolicy("domains:Acme.com, @acme.io,acme.com")).toEqual({
      kind: "domains",
      domains: ["acme.com", "acme.io"],
    });
    expect(loadConfig({ TOLLGATE_SECRET: "x".repeat(32) }).accounts.signUp).toEqual({ kind: "open" });
    for (const bad of ["closed", "domains:", "domains:not a domain"]) {
      expect(() => loadConfig({ TOLLGATE_SECRET: "x".repeat(32), TOLLGATE_SIGNUP: bad })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ TOLLGATE_SECRET: "x".repeat(32), TOLLGATE_SIGNUP: "sometimes" })).toThrow(
      /TOLLGATE_SIGNUP: must be open, invite-only or domains/,
    );
  });
});

describe(`sign-up policy invite-only (${storageKind})`, () => {
  const { ctx, invite } = policyApp("invite-only");

  it("refuses an address without a pending invitation (403 SIGNUP_INVITE_ONLY) and creates nothing", async () => {
    const email = uniqueEmail("stranger");
    const res = await signUpAs(ctx.t, email);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("SIGNUP_INVITE_ONLY");
    expect(res.body.error.message).toMatch(/by invitation only/);
    expect(await users(ctx.t, email)).toBe(0);
  });

  it("lets the invited address sign up and join", async () => {
    const plain = uniqueEmail("invited");
    await invite(plain);
    const res = await signUpAs(ctx.t, plain.toUpperCase());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.user.emailVerified).toBe(false);

    const withLink = uniqueEmail("linked");
    const { token } = await invite(withLink);
    const linked = await ctx.t.signUp({ email: withLink });
    expect((await linked.post(`/api/v1/invitations/${token}/accept`)).status).toBe(200);
    expect((await linked.get(`/api/v1/orgs/${ctx.slug}/projects`)).status).toBe(200);
  });

  it("a revoked invitation no longer lets the address in", async () => {
    const email = uniqueEmail("revoked");
    const { id } = await invite(email);
    expect((await ctx.owner.delete(`/api/v1/orgs/${ctx.slug}/invitations/${id}`)).status).toBeLessThan(300);
    const res = await signUpAs(ctx.t, email);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("SIGNUP_INVITE_ONLY");
  });

  it("an operator's address may always sign up", async () => {
    expect((await signUpAs(ctx.t, "root@operators.example")).status).toBe(200);
  });
});

describe(`sign-up policy domains (${storageKind})`, () => {
  const { ctx, invite } = policyApp("domains:acme.com,acme.io");

  it("lets addresses at the listed domains sign up, in any case", async () => {
    for (const email of [uniqueEmail("a").replace("example.com", "acme.com"), `B-${Date.now()}@ACME.IO`]) {
      const res = await signUpAs(ctx.t, email);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });

  it("refuses other domains, subdomains and look-alikes with SIGNUP_DOMAIN_NOT_ALLOWED naming the domains", async () => {
    for (const email of [uniqueEmail("x"), "eve@sub.acme.com", "eve@acme.com.evil.example", "eve@notacme.com"]) {
      const res = await signUpAs(ctx.t, email);
      expect(res.status, email).toBe(403);
      expect(res.body.error.code).toBe("SIGNUP_DOMAIN_NOT_ALLOWED");
      expect(res.body.error.message).toContain("acme.com, acme.io");
      expect(await users(ctx.t, email)).toBe(0);
    }
  });

  it("the invited address of a pending invitation is allowed from any domain", async () => {
    const email = uniqueEmail("contractor");
    const { token } = await invite(email);
    const res = await signUpAs(ctx.t, email, { invitationToken: token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.user.emailVerified).toBe(true);
  });
});
