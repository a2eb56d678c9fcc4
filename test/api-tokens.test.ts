/**
 * Organization API tokens over real HTTP: minted once (`tg_org_…`, only a hash
 * kept), used as `Authorization: Bearer` on the org's routes with exactly the
 * token's role, never for billing management or the danger zone, restricted
 * to their projects, refused once expired or revoked (401 with a stable code),
 * revoked with their creator's membership, and named as the actor in the
 * audit trail. With TEST_REDIS_URL: a token revoked on one replica is refused
 * by another within a second.
 */
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../src/app.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { joinOrg, personalSlug, rows, team } from "./helpers/fixtures.js";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe(`organization API tokens (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  async function mint(by: Client, body: Record<string, unknown>) {
    const res = await by.post(`/api/v1/orgs/${slug}/api-tokens`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; token: string; hint: string };
  }
  /** A request authenticated by the token alone (no cookie, no Origin). */
  const as = (token: string, method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", url: string, body?: unknown) =>
    t.anon.request(method, url, body, { ...bearer(token), origin: "\u0000omit" });

  beforeAll(async () => {
    t = await startTestApp();
    const x = await team(t, "Token Co");
    ({ owner, admin, member, slug } = x);
    orgId = x.org.id;
    for (const p of ["alpha", "beta"]) {
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: p, slug: p })).status).toBe(201);
    }
  });
  afterAll(() => t.close());

  it("mints a token shown once; lists show a hint; only its hash is stored", async () => {
    const res = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "CI", role: "admin" });
    expect(res.status).toBe(201);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body.token).toMatch(/^tg_org_[0-9A-Za-z]{49}$/);
    expect(res.body).toMatchObject({ name: "CI", role: "admin", status: "active", projects: null });
    expect(res.body.hint).toBe(`tg_org_…${res.body.token.slice(-4)}`);
    const list = await owner.get(`/api/v1/orgs/${slug}/api-tokens`);
    expect(list.status).toBe(200);
    const listed = list.body.tokens.find((x: { id: string }) => x.id === res.body.id);
    expect(listed).toMatchObject({ hint: res.body.hint, createdBy: { email: owner.user!.email } });
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);
    const stored = await rows(t, sql`select * from org_api_tokens where id = ${res.body.id}`);
    expect(JSON.stringify(stored)).not.toContain(res.body.token);
    const audit = await rows(t, sql`select metadata from audit_log where target_id = ${res.body.id}`);
    expect(JSON.stringify(audit)).not.toContain(res.body.token);
    // Members do not see tokens at all.
    expect((await member.get(`/api/v1/orgs/${slug}/api-tokens`)).status).toBe(403);
  });

  it("an admin token works on the org's routes without a cookie or an Origin, and is audited as the actor", async () => {
    const { id, token } = await mint(owner, { name: "deploy bot", role: "admin" });
    expect((await as(token, "GET", `/api/v1/orgs/${slug}`)).status).toBe(200);
    const created = await as(token, "POST", `/api/v1/orgs/${slug}/projects`, { name: "Bot project", slug: "bot" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // A cookie next to the token changes nothing: the token alone counts, so CSRF rules for cookies do not apply.
    const withCookie = await member.post(
      `/api/v1/orgs/${slug}/invitations`,
      { email: "x@example.com", role: "member" },
      { ...bearer(token), origin: "https://evil.example" },
    );
    expect(withCookie.status).toBe(201);
    const audit = await owner.get(`/api/v1/orgs/${slug}/audit-log?actorTokenId=${id}`);
    expect(audit.status).toBe(200);
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(["invitation.created", "project.created"]);
    for (const e of audit.body.entries)
      expect(e.actor).toEqual({ userId: null, email: null, token: { id, name: "deploy bot" } });
  });

  it("a member token gets 403 on admin routes and works on member routes", async () => {
    const { token } = await mint(admin, { name: "reader", role: "member" });
    for (const url of [
      `/api/v1/orgs/${slug}/invitations`,
      `/api/v1/orgs/${slug}/audit-log`,
      `/api/v1/orgs/${slug}/billing`,
    ]) {
      const res = await as(token, "GET", url);
      expect(res.status, url).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    const patch = await as(token, "PATCH", `/api/v1/orgs/${slug}`, { name: "Renamed" });
    expect(patch.status).toBe(403);
    expect((await as(token, "GET", `/api/v1/orgs/${slug}/members`)).status).toBe(200);
    // Minted by an admin: it reaches every project, with member permissions.
    expect((await as(token, "GET", `/api/v1/orgs/${slug}/projects/alpha/keys`)).status).toBe(200);
  });

  it("no token manages billing, deletes or transfers the org, changes members, leaves or mints tokens", async () => {
    const { token } = await mint(owner, { name: "powerful", role: "admin" });
    const denied: Array<[string, "POST" | "PATCH" | "DELETE" | "PUT", string, unknown]> = [
      ["checkout", "POST", `/api/v1/orgs/${slug}/billing/checkout`, { amountUsd: "10" }],
      ["auto top-up", "PUT", `/api/v1/orgs/${slug}/billing/auto-topup`, { enabled: false }],
      ["delete org", "DELETE", `/api/v1/orgs/${slug}`, { confirm: slug }],
      ["transfer", "POST", `/api/v1/orgs/${slug}/transfer`, { userId: admin.user!.id }],
      ["change role", "PATCH", `/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "admin" }],
      ["remove member", "DELETE", `/api/v1/orgs/${slug}/members/${member.user!.id}`, undefined],
      ["leave", "POST", `/api/v1/orgs/${slug}/leave`, undefined],
      ["mint", "POST", `/api/v1/orgs/${slug}/api-tokens`, { name: "child", role: "member" }],
    ];
    for (const [what, method, url, body] of denied) {
      const res = await as(token, method, url, body);
      expect(res.status, what).toBe(403);
      expect(res.body.error.code, what).toBe("API_TOKEN_FORBIDDEN");
    }
    const org = await rows(t, sql`select id from organizations where id = ${orgId}`);
    expect(org).toHaveLength(1);
    const roles = await rows(t, sql`select role from members where org_id = ${orgId} and user_id = ${member.user!.id}`);
    expect(roles).toEqual([{ role: "member" }]);
  });

  it("only the owner mints admin tokens; admins mint member tokens", async () => {
    const res = await admin.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "sneaky", role: "admin" });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
    expect((await member.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "m", role: "member" })).status).toBe(403);
    await mint(admin, { name: "fine", role: "member" });
    const past = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, {
      name: "old",
      role: "member",
      expiresAt: "2020-01-01T00:00:00Z",
    });
    expect(past.body.error.code).toBe("EXPIRY_IN_PAST");
  });

  it("a token restricted to projects reaches only those", async () => {
    const unknown = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, {
      name: "x",
      role: "admin",
      projects: ["nope"],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("PROJECT_NOT_FOUND");
    const { token } = await mint(owner, { name: "alpha only", role: "admin", projects: ["alpha"] });
    expect((await as(token, "GET", `/api/v1/orgs/${slug}/projects/alpha`)).status).toBe(200);
    const beta = await as(token, "GET", `/api/v1/orgs/${slug}/projects/beta/keys`);
    expect(beta.status).toBe(404);
    expect(beta.body.error.code).toBe("PROJECT_NOT_FOUND");
    const key = await as(token, "POST", `/api/v1/orgs/${slug}/projects/beta/keys`, { name: "k", environment: "test" });
    expect(key.status).toBe(404);
    const list = await as(token, "GET", `/api/v1/orgs/${slug}/projects`);
    expect(list.body.projects.map((p: { slug: string }) => p.slug)).toEqual(["alpha"]);
    const tokens = await owner.get(`/api/v1/orgs/${slug}/api-tokens`);
    expect(tokens.body.tokens.find((x: { name: string }) => x.name === "alpha only").projects).toEqual(["alpha"]);
  });

  it("works for its own organization only: another org answers 404 as for non-members", async () => {
    const { token } = await mint(owner, { name: "scoped", role: "admin" });
    const other = await as(token, "GET", `/api/v1/orgs/${await personalSlug(owner)}`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe("ORG_NOT_FOUND");
    // Not a credential for account routes either.
    expect((await as(token, "GET", "/api/v1/me")).status).toBe(401);
  });

  it("expired, revoked and unknown tokens get 401 with their own codes", async () => {
    const expiring = await mint(owner, {
      name: "short",
      role: "member",
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    await t.db.execute(
      sql`update org_api_tokens set expires_at = now() - interval '1 second' where id = ${expiring.id}`,
    );
    const expired = await as(expiring.token, "GET", `/api/v1/orgs/${slug}`);
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe("API_TOKEN_EXPIRED");

    const { id, token } = await mint(owner, { name: "to revoke", role: "admin" });
    expect((await as(token, "GET", `/api/v1/orgs/${slug}`)).status).toBe(200); // cached now
    expect((await admin.delete(`/api/v1/orgs/${slug}/api-tokens/${id}`)).status).toBe(204);
    const revoked = await as(token, "GET", `/api/v1/orgs/${slug}`);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe("API_TOKEN_REVOKED");
    const listed = (await owner.get(`/api/v1/orgs/${slug}/api-tokens`)).body.tokens.find(
      (x: { id: string }) => x.id === id,
    );
    expect(listed).toMatchObject({ status: "revoked", revokedReason: "revoked" });

    const bogus = await as(`tg_org_${"A".repeat(49)}`, "GET", `/api/v1/orgs/${slug}`);
    expect(bogus.status).toBe(401);
    expect(bogus.body.error.code).toBe("API_TOKEN_INVALID");
  });

  it("keeps the last-used time (written in batches)", async () => {
    const { id, token } = await mint(owner, { name: "used", role: "member" });
    expect((await as(token, "GET", `/api/v1/orgs/${slug}`)).status).toBe(200);
    await t.app.flushLogs();
    const listed = (await owner.get(`/api/v1/orgs/${slug}/api-tokens`)).body.tokens.find(
      (x: { id: string }) => x.id === id,
    );
    expect(listed.lastUsedAt).not.toBeNull();
  });

  it("a removed member's tokens are revoked with their membership", async () => {
    const leaving = await joinOrg(t, owner, slug, "admin");
    const { id } = await mint(leaving, { name: "leaver's", role: "member" });
    const minted = await leaving.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "second", role: "member" });
    expect((await as(minted.body.token, "GET", `/api/v1/orgs/${slug}`)).status).toBe(200);
    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${leaving.user!.id}`)).status).toBe(204);
    const res = await as(minted.body.token, "GET", `/api/v1/orgs/${slug}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("API_TOKEN_REVOKED");
    const listed = (await owner.get(`/api/v1/orgs/${slug}/api-tokens`)).body.tokens.find(
      (x: { id: string }) => x.id === id,
    );
    expect(listed).toMatchObject({ status: "revoked", revokedReason: "member_removed" });
  });

  it("the OpenAPI document describes token auth on the org routes", async () => {
    const doc = (await t.anon.get("/api/openapi.json")).body;
    expect(doc.components.securitySchemes.orgToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/api/v1/orgs/{org}/projects"].get.security).toEqual([{ session: [] }, { orgToken: [] }]);
    expect(doc.paths["/api/v1/orgs/{org}/api-tokens"].post.security).toContainEqual({ orgToken: [] });
    expect(doc.paths["/api/v1/me"].get.security).toBeUndefined();
  });
});

const until = async (cond: () => Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<number> => {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - start;
};

describe.skipIf(!TEST_REDIS_URL)(
  `organization API tokens on two replicas (${storageKind}; needs TEST_REDIS_URL)`,
  () => {
    let t: TestApp;
    let second: App;

    beforeAll(async () => {
      const env = { REDIS_URL: TEST_REDIS_URL!, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` };
      t = await startTestApp({ env });
      second = await buildApp({ config: t.config, database: t.database, logger: pino({ level: "silent" }) });
      await second.server.ready();
      await until(async () => {
        const [r1, r2] = await Promise.all([t.app.server.inject("/readyz"), second.server.inject("/readyz")]);
        return r1.json().cacheInvalidation === "shared" && r2.json().cacheInvalidation === "shared";
      }, 5000);
    });
    afterAll(async () => {
      await second?.close();
      await t?.close();
    });

    it("a token revoked on one replica is refused on the other within a second", async () => {
      const { owner, slug } = await team(t);
      const minted = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "ci", role: "admin" });
      const onSecond = () =>
        second.server.inject({ method: "GET", url: `/api/v1/orgs/${slug}`, headers: bearer(minted.body.token) });
      expect((await onSecond()).statusCode).toBe(200); // cached on the second replica (the bus is up: a long TTL)
      expect((await owner.delete(`/api/v1/orgs/${slug}/api-tokens/${minted.body.id}`)).status).toBe(204);
      const ms = await until(async () => (await onSecond()).statusCode === 401, 1000);
      expect(ms).toBeLessThan(1000);
      expect((await onSecond()).json().error.code).toBe("API_TOKEN_REVOKED");
    });
  },
);
