/**
 * SCIM 2.0 provisioning over HTTP, with the requests Okta and Entra ID send:
 * the owner enables it (token shown once, stored hashed), the identity
 * provider looks people up, creates them (members with the default role),
 * deactivates or deletes them (removed, their keys refused by the gateway),
 * and one organization's token never reaches another's people. Only
 * addresses at the organization's verified domains are provisioned: each
 * organization proves its domain through a real DNS server on loopback first.
 * Mail (reset and verification links) goes through a real SMTP server on
 * loopback.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, PUBLIC_URL, startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { startTestDns, type TestDns } from "./helpers/dns-server.js";
import { createOrg, rows } from "./helpers/fixtures.js";
import {
  entraUser,
  oktaUser,
  patchOp as patch,
  SCIM_BASE as SCIM,
  SCIM_ERROR as ERROR_SCHEMA,
  SCIM_USER as USER_SCHEMA,
  type ScimMethod,
  scimRequest,
} from "./helpers/scim-idp.js";
import { gatewayStatus, keyOf, signInProvisioned, verifyEmail } from "./helpers/scim-people.js";
import { inviteToken, startSmtp, type TestSmtp } from "./helpers/smtp.js";
import { addressAt, uniqueDomain, verifyDomain } from "./helpers/verified-domain.js";

describe(`SCIM provisioning (${storageKind})`, () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let dns: TestDns;
  beforeAll(async () => {
    smtp = await startSmtp();
    dns = await startTestDns();
    t = await startTestApp({ env: { SMTP_URL: smtp.url, TOLLGATE_DNS_SERVERS: dns.address } });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
    await smtp?.close();
  });

  const idp = (method: ScimMethod, path: string, token: string | null, body?: unknown) =>
    scimRequest(t, method, path, token, body);

  async function join(owner: Client, slug: string, role: "admin" | "member"): Promise<Client> {
    const who = await t.signUp();
    expect((await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: who.user!.email, role })).status).toBe(201);
    const token = inviteToken(await smtp.waitFor(who.user!.email));
    expect((await who.post(`/api/v1/invitations/${token}/accept`)).status).toBe(200);
    return who;
  }

  async function enable(owner: Client, slug: string): Promise<string> {
    const res = await owner.post(`/api/v1/orgs/${slug}/scim/token`);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.token as string;
  }

  /** An organization with SCIM on and its own verified domain: its owner (at that domain), slug, id, domain and token. */
  async function scimOrg() {
    const domain = uniqueDomain("scim");
    const owner = await t.signUp({ email: addressAt(domain, "owner") });
    const org = await createOrg(owner);
    await verifyDomain(dns, owner, org.slug, domain);
    return { owner, slug: org.slug, orgId: org.id, domain, token: await enable(owner, org.slug) };
  }

  const roster = async (owner: Client, slug: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      ((await owner.get(`/api/v1/orgs/${slug}/members`)).body.members as Array<{ email: string; role: string }>).map(
        (m) => [m.email, m.role],
      ),
    );

  const gateway = (key: string) => gatewayStatus(t, key);

  const auditOf = (orgId: string) =>
    rows<{ action: string; metadata: Record<string, unknown> }>(
      t,
      sql`select action, metadata from audit_log where org_id = ${orgId} order by id`,
    );

  it("the owner enables SCIM and sees the token once; it is stored hashed and never audited", async () => {
    const owner = await t.signUp();
    const { slug, id } = await createOrg(owner);
    const baseUrl = `${PUBLIC_URL}${SCIM}`;
    expect((await owner.get(`/api/v1/orgs/${slug}/scim`)).body).toEqual({ enabled: false, baseUrl });

    const res = await owner.post(`/api/v1/orgs/${slug}/scim/token`);
    expect(res.status).toBe(201);
    expect(res.headers["cache-control"]).toBe("no-store");
    const token = res.body.token as string;
    expect(token).toMatch(/^tg_scim_[0-9A-Za-z]{49}$/);
    expect(res.body).toMatchObject({ enabled: true, baseUrl, tokenHint: `tg_scim_…${token.slice(-4)}` });

    const status = await owner.get(`/api/v1/orgs/${slug}/scim`);
    expect(status.body).toMatchObject({
      enabled: true,
      baseUrl,
      tokenHint: `tg_scim_…${token.slice(-4)}`,
      lastUsedAt: null,
    });
    expect(JSON.stringify(status.body)).not.toContain(token);

    const [stored] = await rows(t, sql`select * from org_scim_tokens where org_id = ${id}`);
    expect(stored!.digest).toBe(createHash("sha256").update(token).digest("hex"));
    expect(JSON.stringify(stored)).not.toContain(token);
    const audit = await auditOf(id);
    expect(audit.map((a) => a.action)).toContain("scim.enabled");
    expect(JSON.stringify(audit)).not.toContain(token);

    expect((await idp("GET", "/Users", token)).status).toBe(200);
    expect((await owner.get(`/api/v1/orgs/${slug}/scim`)).body.lastUsedAt).not.toBeNull();
    const paths = (await new Client(t.app).get("/api/openapi.json")).body.paths;
    expect(paths["/api/v1/orgs/{org}/scim/token"].post.responses).toHaveProperty("201");
  });

  it("only the owner manages SCIM: admins see the status, members nothing, org API tokens never manage it", async () => {
    const owner = await t.signUp();
    const { slug } = await createOrg(owner);
    const admin = await join(owner, slug, "admin");
    const member = await join(owner, slug, "member");
    expect((await admin.get(`/api/v1/orgs/${slug}/scim`)).status).toBe(200);
    expect((await admin.post(`/api/v1/orgs/${slug}/scim/token`)).status).toBe(403);
    expect((await admin.delete(`/api/v1/orgs/${slug}/scim`)).status).toBe(403);
    expect((await member.get(`/api/v1/orgs/${slug}/scim`)).status).toBe(403);
    expect((await member.post(`/api/v1/orgs/${slug}/scim/token`)).status).toBe(403);

    const minted = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "automation", role: "admin" });
    expect(minted.status).toBe(201);
    const bearer = { authorization: `Bearer ${minted.body.token}` };
    const anon = t.anon;
    expect((await anon.post(`/api/v1/orgs/${slug}/scim/token`, undefined, bearer)).status).toBe(403);
    expect((await anon.delete(`/api/v1/orgs/${slug}/scim`, undefined, bearer)).status).toBe(403);
    expect((await owner.get(`/api/v1/orgs/${slug}/scim`)).body.enabled).toBe(false);
    // Nor is an org API token a SCIM token.
    expect((await idp("GET", "/Users", minted.body.token)).status).toBe(401);
  });

  it("Okta looks the person up, creates them, and they are a member with the default role", async () => {
    const { owner, slug, orgId, domain, token } = await scimOrg();
    const email = addressAt(domain, "ada");
    const config = await idp("GET", "/ServiceProviderConfig", token);
    expect(config.status).toBe(200);
    expect(config.body.patch.supported).toBe(true);

    const filter = `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}&startIndex=1&count=100`;
    const before = await idp("GET", filter, token);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await idp("POST", "/Users", token, oktaUser(email));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.headers["content-type"]).toContain("application/scim+json");
    expect(created.body).toMatchObject({ userName: email, active: true, name: { givenName: "Ada" } });
    expect(created.body).not.toHaveProperty("password");

    const after = await idp("GET", filter, token);
    expect(after.body.totalResults).toBe(1);
    expect(after.body.Resources[0].id).toBe(created.body.id);
    expect((await idp("GET", `/Users/${created.body.id}`, token)).body.emails[0].value).toBe(email);

    expect((await roster(owner, slug))[email]).toBe("member");
    const joined = (await auditOf(orgId)).find((a) => a.action === "member.joined");
    expect(joined?.metadata).toMatchObject({ email, role: "member", via: "scim" });
    // No password was set for them: they sign in by resetting it (or through SSO).
    const [person] = await rows<{ id: string }>(t, sql`select id from users where email = ${email}`);
    expect(await rows(t, sql`select 1 from accounts where user_id = ${person!.id} and password is not null`)).toEqual(
      [],
    );
  });

  it("Entra ID deactivates by PATCH path active: removed, key refused; reactivated: a member again", async () => {
    const { owner, slug, orgId, domain, token } = await scimOrg();
    const email = addressAt(domain, "grace");
    const created = await idp("POST", "/Users", token, entraUser(email));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const person = await signInProvisioned(t, smtp, email);
    const key = await keyOf(owner, person, slug);
    expect(await gateway(key)).toBe(200);

    const off = await idp(
      "PATCH",
      `/Users/${created.body.id}`,
      token,
      patch({ op: "Replace", path: "active", value: "False" }),
    );
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body.active).toBe(false);
    expect(await roster(owner, slug)).not.toHaveProperty(email);
    expect(await gateway(key)).toBe(401);
    const removed = (await auditOf(orgId)).find((a) => a.action === "member.removed");
    expect(removed?.metadata).toEqual({ email, role: "member", via: "scim" });
    expect((await person.get(`/api/v1/orgs/${slug}/members`)).status).not.toBe(200);

    const on = await idp(
      "PATCH",
      `/Users/${created.body.id}`,
      token,
      patch({ op: "replace", path: "active", value: true }),
    );
    expect(on.status).toBe(200);
    expect((await roster(owner, slug))[email]).toBe("member");
    expect(await gateway(key)).toBe(401); // a revoked key stays revoked
  });

  it("Okta deactivates by PATCH value {active:false} or by PUT; DELETE removes; each refuses the person's key", async () => {
    const { owner, slug, domain, token } = await scimOrg();
    const people = [addressAt(domain, "patch"), addressAt(domain, "put"), addressAt(domain, "delete")];
    const ids: string[] = [];
    const keys: string[] = [];
    for (const email of people) {
      const created = await idp("POST", "/Users", token, oktaUser(email));
      expect(created.status).toBe(201);
      ids.push(created.body.id);
      keys.push(await keyOf(owner, await signInProvisioned(t, smtp, email), slug));
    }
    for (const key of keys) expect(await gateway(key)).toBe(200);

    const [byPatch, byPut, byDelete] = ids as [string, string, string];
    expect(
      (await idp("PATCH", `/Users/${byPatch}`, token, patch({ op: "replace", value: { active: false } }))).status,
    ).toBe(200);
    expect((await idp("PUT", `/Users/${byPut}`, token, oktaUser(people[1]!, false))).body.active).toBe(false);
    expect((await idp("DELETE", `/Users/${byDelete}`, token)).status).toBe(204);
    expect((await idp("GET", `/Users/${byDelete}`, token)).status).toBe(404);

    const members = await roster(owner, slug);
    for (const email of people) expect(members).not.toHaveProperty(email);
    for (const key of keys) expect(await gateway(key)).toBe(401);
  });

  it("the owner is never deprovisioned: SCIM answers 409 and nothing changes", async () => {
    const { owner, slug, token } = await scimOrg();
    const email = owner.user!.email; // at the organization's verified domain
    const linked = await idp("POST", "/Users", token, oktaUser(email));
    expect(linked.status, JSON.stringify(linked.body)).toBe(201);
    expect(await roster(owner, slug)).toEqual({ [email]: "owner" });

    for (const res of [
      await idp("PATCH", `/Users/${linked.body.id}`, token, patch({ op: "replace", value: { active: false } })),
      await idp("DELETE", `/Users/${linked.body.id}`, token),
    ]) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: "409" });
      expect(res.body.detail).toContain("owns the organization");
    }
    expect((await idp("GET", `/Users/${linked.body.id}`, token)).body.active).toBe(true);
    expect(await roster(owner, slug)).toEqual({ [email]: "owner" });
  });

  it("an existing account at the organization's verified domain is linked, not duplicated, and joins", async () => {
    const { owner, slug, domain, token } = await scimOrg();
    // Signed up with a password before provisioning, its address never verified: the org proved the domain.
    const existing = await t.signUp({ name: "Existing Person", email: addressAt(domain, "existing") });
    const email = existing.user!.email;

    const linked = await idp("POST", "/Users", token, entraUser(email));
    expect(linked.status, JSON.stringify(linked.body)).toBe(201);
    expect((await roster(owner, slug))[email]).toBe("member");
    const accounts = await rows<{ id: string; name: string }>(
      t,
      sql`select id, name from users where email = ${email}`,
    );
    expect(accounts).toEqual([{ id: existing.user!.id, name: "Existing Person" }]);
    // The same person, signed in with their own password, sees the organization.
    expect((await existing.get(`/api/v1/orgs/${slug}/members`)).status).toBe(200);
  });

  /** A refused SCIM create: 409 in SCIM's error format, naming the rule. */
  const expectOutsideDomains = (res: { status: number; body: any }) => {
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: "409" });
    expect(res.body.detail).toContain("outside this organization's verified domains");
    expect(res.body.detail).toContain("Single sign-on");
  };

  it("an address outside the organization's verified domains is refused and no account is created", async () => {
    const { owner, slug, token } = await scimOrg();
    const email = addressAt(uniqueDomain("other-company"), "squatted");
    expectOutsideDomains(await idp("POST", "/Users", token, oktaUser(email)));
    expect(await rows(t, sql`select id from users where email = ${email}`)).toEqual([]);
    expect(await roster(owner, slug)).not.toHaveProperty(email);
    const listed = await idp("GET", `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}`, token);
    expect(listed.body.totalResults).toBe(0);
    // The real person can still sign up with their address.
    expect((await t.signUp({ email })).user!.email).toBe(email);
  });

  it("a verified account at another domain is refused: the person is not pulled into the organization", async () => {
    const { owner, slug, token } = await scimOrg();
    const stranger = await t.signUp({ email: addressAt("mail-personal.test", "stranger") });
    const email = stranger.user!.email;
    await verifyEmail(t, smtp, email);

    expectOutsideDomains(await idp("POST", "/Users", token, entraUser(email)));
    expect(await roster(owner, slug)).not.toHaveProperty(email);
    expect((await stranger.get(`/api/v1/orgs/${slug}/members`)).status).not.toBe(200);
    // Nothing to deprovision: their session is untouched.
    expect((await stranger.get("/api/auth/get-session")).body.user).toMatchObject({ email, emailVerified: true });
  });

  it("an update cannot move a provisioned account's address outside the verified domains", async () => {
    const { domain, token } = await scimOrg();
    const email = addressAt(domain, "mover");
    const created = await idp("POST", "/Users", token, oktaUser(email));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const elsewhere = addressAt(uniqueDomain("elsewhere"), "victim");
    const moved = await idp(
      "PATCH",
      `/Users/${created.body.id}`,
      token,
      patch(
        { op: "replace", path: 'emails[type eq "work"].value', value: elsewhere },
        { op: "replace", path: "userName", value: elsewhere },
      ),
    );
    expect(moved.status, JSON.stringify(moved.body)).toBe(409);
    expect(moved.body.detail).toContain("outside this organization's verified domains");
    const put = await idp("PUT", `/Users/${created.body.id}`, token, oktaUser(elsewhere));
    expect(put.status, JSON.stringify(put.body)).toBe(409);
    expect(await rows(t, sql`select email from users where email in (${email}, ${elsewhere})`)).toEqual([{ email }]);
    // Within the verified domain an address change goes through.
    const renamed = addressAt(domain, "mover.renamed");
    const ok = await idp("PUT", `/Users/${created.body.id}`, token, oktaUser(renamed));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await rows(t, sql`select email from users where email = ${renamed}`)).toEqual([{ email: renamed }]);
  });

  it("one organization's token never sees or touches another organization's people", async () => {
    const a = await scimOrg();
    const b = await scimOrg();
    const email = addressAt(b.domain, "bob");
    const inB = await idp("POST", "/Users", b.token, oktaUser(email));
    expect(inB.status).toBe(201);
    // Nor does A's token provision (and so link) an address at B's domain.
    expectOutsideDomains(await idp("POST", "/Users", a.token, oktaUser(email)));

    const listA = await idp("GET", `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}`, a.token);
    expect(listA.body.totalResults).toBe(0);
    expect((await idp("GET", "/Users", a.token)).body.Resources).toEqual([]);
    expect((await idp("GET", `/Users/${inB.body.id}`, a.token)).status).toBe(404);
    const off = patch({ op: "replace", value: { active: false } });
    expect((await idp("PATCH", `/Users/${inB.body.id}`, a.token, off)).status).toBe(404);
    expect((await idp("PUT", `/Users/${inB.body.id}`, a.token, oktaUser(email, false))).status).toBe(404);
    expect((await idp("DELETE", `/Users/${inB.body.id}`, a.token)).status).toBe(404);

    expect((await roster(b.owner, b.slug))[email]).toBe("member");
    expect(await roster(a.owner, a.slug)).not.toHaveProperty(email);
    expect((await idp("GET", `/Users/${inB.body.id}`, b.token)).body.active).toBe(true);
  });

  it("a rotated token is refused at once and the new one works; disabling refuses it too", async () => {
    const { owner, slug, orgId, token: first } = await scimOrg();
    const second = await enable(owner, slug);
    expect(second).not.toBe(first);
    expect((await idp("GET", "/Users", first)).status).toBe(401);
    expect((await idp("GET", "/Users", second)).status).toBe(200);

    expect((await owner.delete(`/api/v1/orgs/${slug}/scim`)).status).toBe(204);
    expect((await idp("GET", "/Users", second)).status).toBe(401);
    expect((await owner.get(`/api/v1/orgs/${slug}/scim`)).body.enabled).toBe(false);
    expect((await owner.delete(`/api/v1/orgs/${slug}/scim`)).status).toBe(204);
    const actions = (await auditOf(orgId)).map((a) => a.action).filter((a) => a.startsWith("scim."));
    expect(actions).toEqual(["scim.enabled", "scim.token_rotated", "scim.disabled"]);
  });

  it("a missing or wrong bearer is answered 401 in SCIM's error format", async () => {
    const { token } = await scimOrg();
    const wellFormedButUnknown = `${token.slice(0, -10)}AAAAAAAAAA`;
    for (const bearer of [null, "not-a-token", wellFormedButUnknown]) {
      const res = await idp("GET", "/Users", bearer);
      expect(res.status).toBe(401);
      expect(res.headers["content-type"]).toContain("application/scim+json");
      expect(res.headers["www-authenticate"]).toContain("Bearer");
      expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: "401" });
    }
    const bad = await idp("POST", "/Users", token, { schemas: [USER_SCHEMA] });
    expect(bad.status).toBe(400);
    expect(bad.body.schemas).toEqual([ERROR_SCHEMA]);
  });

  it("groups pushed by Entra ID are stored but grant no role", async () => {
    const { owner, slug, domain, token } = await scimOrg();
    const email = addressAt(domain, "grouped");
    const user = await idp("POST", "/Users", token, entraUser(email));
    const group = await idp("POST", "/Groups", token, {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      externalId: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
      displayName: "Tollgate Admins",
      members: [{ value: user.body.id }],
    });
    expect(group.status, JSON.stringify(group.body)).toBe(201);
    expect((await roster(owner, slug))[email]).toBe("member");
  });
});

describe(`SCIM on an invite-only instance (${storageKind})`, () => {
  let t: TestApp;
  let dns: TestDns;
  beforeAll(async () => {
    dns = await startTestDns();
    t = await startTestApp({ env: { TOLLGATE_SIGNUP: "invite-only", TOLLGATE_DNS_SERVERS: dns.address } });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  it("the organization's identity provider still creates accounts: its owner enabled it, like an invitation", async () => {
    const owner = await t.signUp(); // the instance's first account may always sign up
    const { slug } = await createOrg(owner);
    const domain = uniqueDomain("invite-only");
    await verifyDomain(dns, owner, slug, domain);
    const token = (await owner.post(`/api/v1/orgs/${slug}/scim/token`)).body.token as string;
    const email = addressAt(domain, "provisioned");
    const res = await scimRequest(t, "POST", "/Users", token, oktaUser(email));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const members = (await owner.get(`/api/v1/orgs/${slug}/members`)).body.members as Array<{ email: string }>;
    expect(members.map((m) => m.email)).toContain(email);
    // Sign-up itself stays closed to anyone else.
    expect(
      (await t.anon.post("/api/auth/sign-up/email", { name: "x", email: uniqueEmail(), password: "long enough pw" }))
        .status,
    ).toBe(403);
  });
});
