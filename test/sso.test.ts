/**
 * Single sign-on per organization over real HTTP, against a real OpenID
 * Connect provider (oidc-provider) and a real DNS server on loopback: the
 * owner configures the connection, proves the domain with a TXT record, and
 * people at that domain sign in through the IdP, joining with the default
 * role. Requiring SSO shuts out password sessions (the owner excepted). The
 * client secret is write-only and sealed at rest.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PUBLIC_URL, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { type TestDns, startTestDns } from "./helpers/dns-server.js";
import { auditActions, rows, team } from "./helpers/fixtures.js";
import { freePort, type OidcIdp, startOidcIdp, walkIdp } from "./helpers/oidc-idp.js";

const DOMAIN = "acme-sso.test";

describe(`single sign-on with OIDC (${storageKind})`, () => {
  let t: TestApp;
  let dns: TestDns;
  let idp: OidcIdp;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  /** A browser's SSO sign-in: start at Tollgate, through the IdP, back to Tollgate's callback. */
  async function ssoSignIn(email: string, sub = email) {
    idp.signInAs({ sub, email, name: email.split("@")[0] });
    const browser = new (t.anon.constructor as new (app: unknown) => Client)(t.app);
    const start = await browser.post("/api/auth/sign-in/sso", { email, callbackURL: "/" });
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    const back = await walkIdp(start.body.url);
    expect(back.origin).toBe(PUBLIC_URL);
    const done = await browser.get(back.pathname + back.search);
    return { browser, done };
  }

  beforeAll(async () => {
    const port = await freePort();
    dns = await startTestDns();
    t = await startTestApp({
      env: { TOLLGATE_SSO_TRUSTED_ORIGINS: `http://127.0.0.1:${port}`, TOLLGATE_DNS_SERVERS: dns.address },
    });
    const x = await team(t, "Acme SSO");
    ({ owner, admin, member, slug } = x);
    orgId = x.org.id;
    idp = await startOidcIdp({ port, redirectUris: [`${PUBLIC_URL}/api/auth/sso/callback/${orgId}-oidc`] });
  });
  afterAll(async () => {
    await idp?.close();
    await dns?.close();
    await t?.close();
  });

  const configure = (by: Client, extra: Record<string, unknown> = {}) =>
    by.put(`/api/v1/orgs/${slug}/sso`, {
      domains: [DOMAIN],
      oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
      ...extra,
    });

  it("only the owner configures SSO; admins read it; members see nothing", async () => {
    expect((await member.get(`/api/v1/orgs/${slug}/sso`)).status).toBe(403);
    expect((await configure(admin)).status).toBe(403);
    const res = await configure(owner);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.oidc).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      redirectUri: `${PUBLIC_URL}/api/auth/sso/callback/${orgId}-oidc`,
    });
    expect(res.body.domains).toEqual([
      expect.objectContaining({ domain: DOMAIN, verified: false, txtRecord: expect.any(Object) }),
    ]);
    expect(res.body.defaultRole).toBe("member");
    expect(JSON.stringify(res.body)).not.toContain(idp.clientSecret);
    const read = await admin.get(`/api/v1/orgs/${slug}/sso`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    // The secret is sealed at rest: not in the provider row, not in the audit trail.
    const stored = await rows(t, sql`select oidc_config from sso_providers where organization_id = ${orgId}`);
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(idp.clientSecret);
    const audit = await rows(
      t,
      sql`select metadata from audit_log where org_id = ${orgId} and action = 'sso.configured'`,
    );
    expect(JSON.stringify(audit)).not.toContain(idp.clientSecret);
  });

  it("refuses sign-in through the IdP until the domain is verified by its DNS TXT record", async () => {
    const email = `early@${DOMAIN}`;
    const start = await t.anon.post("/api/auth/sign-in/sso", { email, callbackURL: "/" });
    expect(start.status).toBe(401);
    const cfg = (await owner.get(`/api/v1/orgs/${slug}/sso`)).body;
    const { record, value } = cfg.domains[0].txtRecord;
    expect(record).toBe(`_tollgate-verification.${DOMAIN}`);
    const missing = await owner.post(`/api/v1/orgs/${slug}/sso/domains/${DOMAIN}/verify`);
    expect(missing.status).toBe(409);
    expect(missing.body.error.code).toBe("SSO_DOMAIN_NOT_VERIFIED");
    dns.setTxt(record, ["v=spf1 -all", value]);
    const ok = await owner.post(`/api/v1/orgs/${slug}/sso/domains/${DOMAIN}/verify`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.domains[0]).toMatchObject({ domain: DOMAIN, verified: true });
    expect(await auditActions(t, orgId)).toContain("sso.domain_verified");
  });

  it("a first OIDC sign-in creates the account and joins the org with the default role", async () => {
    const email = `new.person@${DOMAIN}`;
    const { browser, done } = await ssoSignIn(email);
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe("/");
    const me = await browser.get("/api/auth/get-session");
    expect(me.body.user).toMatchObject({ email, emailVerified: true });
    const roster = await owner.get(`/api/v1/orgs/${slug}/members`);
    expect(roster.body.members ?? roster.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, role: "member" })]),
    );
    expect((await browser.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    // Signing in again keeps one membership.
    await ssoSignIn(email);
    const again = await rows(
      t,
      sql`select count(*)::int as n from members m join users u on u.id = m.user_id where u.email = ${email} and m.org_id = ${orgId}`,
    );
    expect(again[0]).toEqual({ n: 1 });
  });

  it("the owner's default role applies to people joining later", async () => {
    const res = await configure(owner, { oidc: { issuer: idp.issuer, clientId: idp.clientId }, defaultRole: "admin" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.domains[0].verified).toBe(true);
    const email = `lead@${DOMAIN}`;
    await ssoSignIn(email);
    const roster = await owner.get(`/api/v1/orgs/${slug}/members`);
    expect(roster.body.members ?? roster.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, role: "admin" })]),
    );
  });

  it("an IdP cannot create accounts for addresses outside the verified domains", async () => {
    const email = uniqueEmail("outsider");
    idp.signInAs({ sub: "outsider-1", email });
    const browser = new (t.anon.constructor as new (app: unknown) => Client)(t.app);
    const start = await browser.post("/api/auth/sign-in/sso", { providerId: `${orgId}-oidc`, callbackURL: "/" });
    expect(start.status).toBe(200);
    const back = await walkIdp(start.body.url);
    const done = await browser.get(back.pathname + back.search);
    expect(done.status).toBe(302);
    expect(done.headers.location).toContain("error=");
    expect(await rows(t, sql`select id from users where email = ${email}`)).toHaveLength(0);
  });

  it("a changed issuer or client id needs the secret again; a refused connection changes nothing", async () => {
    const noSecret = await configure(owner, { oidc: { issuer: idp.issuer, clientId: "another-client" } });
    expect(noSecret.status).toBe(400);
    expect(noSecret.body.error.code).toBe("SSO_CLIENT_SECRET_REQUIRED");
    const unreachable = await configure(owner, {
      oidc: { issuer: "http://10.255.255.1:9", clientId: "x", clientSecret: "y" },
    });
    expect(unreachable.status).toBe(400);
    expect(unreachable.body.error.code).toBe("SSO_CONFIG_INVALID");
    const after = await owner.get(`/api/v1/orgs/${slug}/sso`);
    expect(after.body.oidc.clientId).toBe(idp.clientId);
    expect(await rows(t, sql`select provider_id from sso_providers`)).toEqual([{ provider_id: `${orgId}-oidc` }]);
  });

  it("require SSO: password sessions of members are refused, SSO sessions and the owner are not", async () => {
    const ssoUser = await ssoSignIn(`required@${DOMAIN}`);
    const res = await configure(owner, { oidc: { issuer: idp.issuer, clientId: idp.clientId }, requireSso: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.requireSso).toBe(true);
    const refused = await member.get(`/api/v1/orgs/${slug}/projects`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("SSO_REQUIRED");
    expect((await admin.get(`/api/v1/orgs/${slug}`)).body.error.code).toBe("SSO_REQUIRED");
    expect((await owner.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    expect((await ssoUser.browser.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    // The member's other organizations are unaffected.
    expect((await member.get("/api/v1/orgs")).status).toBe(200);
    expect((await owner.get(`/api/v1/orgs/${slug}`)).body.requireSso).toBe(true);
  });

  it("removing SSO lifts the requirement", async () => {
    const res = await owner.delete(`/api/v1/orgs/${slug}/sso`);
    expect(res.status).toBe(204);
    expect((await member.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    expect((await owner.get(`/api/v1/orgs/${slug}/sso`)).body).toMatchObject({
      domains: [],
      oidc: null,
      requireSso: false,
    });
    expect(await auditActions(t, orgId)).toEqual(expect.arrayContaining(["sso.configured", "sso.removed"]));
  });
});
