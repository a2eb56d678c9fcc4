/**
 * Single sign-on with SAML 2.0 over real HTTP: the owner pastes the IdP's
 * metadata (or its URL), Tollgate's sign-in sends an AuthnRequest, a real
 * samlify IdP answers with a response signed by a test certificate, and the
 * browser posts it to the ACS as the IdP's form would. A response altered
 * after signing, or signed for another audience, or replayed, signs nobody in.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PUBLIC_URL, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { type TestDns, startTestDns } from "./helpers/dns-server.js";
import { rows, team } from "./helpers/fixtures.js";
import { type SamlIdp, startSamlIdp } from "./helpers/saml-idp.js";

const DOMAIN = "globex-saml.test";

describe(`single sign-on with SAML (${storageKind})`, () => {
  let t: TestApp;
  let dns: TestDns;
  let idp: SamlIdp;
  let owner: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  const newBrowser = () => new (t.anon.constructor as new (app: unknown) => Client)(t.app);

  /** Starts an SP-initiated sign-in; the IdP builds its signed answer; the browser posts it to the ACS. */
  async function samlSignIn(email: string, opts: { tamper?: boolean; wrongAudience?: boolean } = {}) {
    const browser = newBrowser();
    const start = await browser.post("/api/auth/sign-in/sso", { email, callbackURL: "/projects" });
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    const { acsUrl, form } = await idp.respond(start.body.url, { nameId: `id-${email}`, email, name: "Sam L" }, opts);
    expect(acsUrl).toBe(`${PUBLIC_URL}/api/auth/sso/saml2/sp/acs/${orgId}-saml`);
    const post = () =>
      browser.post(new URL(acsUrl).pathname, new URLSearchParams(form).toString(), {
        "content-type": "application/x-www-form-urlencoded",
        origin: new URL(idp.entityId).origin,
        "sec-fetch-site": "cross-site",
      });
    return { browser, done: await post(), replay: post };
  }

  beforeAll(async () => {
    dns = await startTestDns();
    idp = await startSamlIdp();
    t = await startTestApp({
      env: { TOLLGATE_SSO_TRUSTED_ORIGINS: new URL(idp.metadataUrl).origin, TOLLGATE_DNS_SERVERS: dns.address },
    });
    const x = await team(t, "Globex SAML");
    ({ owner, member, slug } = x);
    orgId = x.org.id;
  });
  afterAll(async () => {
    await idp?.close();
    await dns?.close();
    await t?.close();
  });

  it("the owner configures SAML from the IdP's metadata URL and verifies the domain", async () => {
    const res = await owner.put(`/api/v1/orgs/${slug}/sso`, {
      domains: [DOMAIN],
      saml: { metadataUrl: idp.metadataUrl },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.saml).toMatchObject({
      providerId: `${orgId}-saml`,
      idpEntityId: idp.entityId,
      acsUrl: `${PUBLIC_URL}/api/auth/sso/saml2/sp/acs/${orgId}-saml`,
      spEntityId: `${PUBLIC_URL}/api/auth/sso/saml2/sp/metadata?providerId=${orgId}-saml`,
    });
    expect(res.body.oidc).toBeNull();
    const { record, value } = res.body.domains[0].txtRecord;
    dns.setTxt(record, [value]);
    const ok = await owner.post(`/api/v1/orgs/${slug}/sso/domains/${DOMAIN}/verify`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // The SP metadata the IdP admin imports names the ACS URL.
    const meta = await t.anon.get(`/api/auth/sso/saml2/sp/metadata?providerId=${orgId}-saml`);
    expect(meta.status).toBe(200);
    expect(String(meta.raw.body)).toContain(`/api/auth/sso/saml2/sp/acs/${orgId}-saml`);
  });

  it("refuses metadata that is not SAML metadata, changing nothing", async () => {
    const res = await owner.put(`/api/v1/orgs/${slug}/sso`, {
      domains: [DOMAIN],
      saml: { metadataXml: "<html>no</html>" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("SSO_CONFIG_INVALID");
    expect((await owner.get(`/api/v1/orgs/${slug}/sso`)).body.saml.idpEntityId).toBe(idp.entityId);
  });

  it("a signed SAML response signs the person in and joins them as a member", async () => {
    const email = `sam@${DOMAIN}`;
    const { browser, done, replay } = await samlSignIn(email);
    expect(done.status, String(done.raw.body)).toBe(302);
    expect(done.headers.location).toBe("/projects");
    const session = await browser.get("/api/auth/get-session");
    expect(session.body.user).toMatchObject({ email, name: "Sam L" });
    const roster = await owner.get(`/api/v1/orgs/${slug}/members`);
    expect(roster.body.members ?? roster.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, role: "member" })]),
    );
    // The same response posted again is refused (its request was answered once).
    const again = await replay();
    expect(again.status).toBe(302);
    expect(again.headers.location).toContain("error=");
  });

  it("a response altered after signing, or signed for another audience, signs nobody in", async () => {
    for (const opts of [{ tamper: true }, { wrongAudience: true }]) {
      const email = `mallory-${Object.keys(opts)[0]}@${DOMAIN}`;
      const { browser, done } = await samlSignIn(email, opts);
      expect(done.status).toBeGreaterThanOrEqual(300);
      expect((await browser.get("/api/auth/get-session")).body).toBeNull();
    }
    expect(
      await rows(t, sql`select email from users where email like ${`%@${DOMAIN}`} and email like 'mallory%'`),
    ).toEqual([]);
    expect(await rows(t, sql`select email from users where email like 'local+intruder%'`)).toEqual([]);
  });

  it("a member of a SAML org is held to SSO when the owner requires it", async () => {
    const res = await owner.put(`/api/v1/orgs/${slug}/sso`, {
      domains: [DOMAIN],
      saml: { metadataUrl: idp.metadataUrl },
      requireSso: true,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await member.get(`/api/v1/orgs/${slug}/projects`)).body.error.code).toBe("SSO_REQUIRED");
    const me = await member.get("/api/v1/me");
    expect(me.body.organizations.find((o: { slug: string }) => o.slug === slug).ssoSignInNeeded).toBe(true);
    const { browser } = await samlSignIn(`sam@${DOMAIN}`);
    expect((await browser.get(`/api/v1/orgs/${slug}/projects`)).status).toBe(200);
    const ssoMe = await browser.get("/api/v1/me");
    expect(ssoMe.body.organizations.find((o: { slug: string }) => o.slug === slug).ssoSignInNeeded).toBe(false);
  });
});
