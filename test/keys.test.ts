/**
 * API keys over HTTP, checked against the gateway's verifier: shown once,
 * stored as digest + hint only, revocation immediate, expiry, who may revoke,
 * what happens to a removed member's keys, project and org deletion, and keys
 * never authenticating the management API.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_PATTERN } from "../src/modules/keys/key-format.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { rows, team } from "./helpers/fixtures.js";

describe(`API keys (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const verify = (raw: string) => t.app.keyVerifier.verify(raw);
  const keysUrl = (slug: string, project: string) => `/api/v1/orgs/${slug}/projects/${project}/keys`;

  /** A team with project "prod" (member assigned). */
  async function setup(projectBody: Record<string, unknown> = {}) {
    const tm = await team(t);
    const p = await tm.owner.post(`/api/v1/orgs/${tm.slug}/projects`, { name: "Prod", slug: "prod", ...projectBody });
    expect(p.status).toBe(201);
    expect(
      (await tm.owner.put(`/api/v1/orgs/${tm.slug}/projects/prod/members`, { userIds: [tm.member.user!.id] })).status,
    ).toBe(200);
    return { ...tm, project: p.body };
  }

  async function createKey(c: Client, slug: string, body: Record<string, unknown> = {}, project = "prod") {
    const res = await c.post(keysUrl(slug, project), { name: "app server", environment: "live", ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; key: string; hint: string };
  }

  it("creates a key shown once; lists show only the hint", async () => {
    const { member, slug, project } = await setup();
    const res = await member.post(keysUrl(slug, "prod"), { name: "app server", environment: "live" });
    expect(res.status).toBe(201);
    expect(res.headers["cache-control"]).toBe("no-store");
    const created = res.body;
    expect(created.key).toMatch(KEY_PATTERN);
    expect(created.key.startsWith("tg_live_")).toBe(true);
    expect(created).toMatchObject({
      projectId: project.id,
      name: "app server",
      environment: "live",
      hint: `tg_live_…${created.key.slice(-4)}`,
      status: "active",
      createdBy: { userId: member.user!.id, email: member.user!.email },
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    const list = await member.get(keysUrl(slug, "prod"));
    expect(list.status).toBe(200);
    expect(list.body.keys).toHaveLength(1);
    expect(list.body.keys[0]).not.toHaveProperty("key");
    expect(list.raw.body).not.toContain(created.key);
    const one = await member.get(`${keysUrl(slug, "prod")}/${created.id}`);
    expect(one.body.hint).toBe(created.hint);
    expect(one.raw.body).not.toContain(created.key.slice(8, -4));

    const test = await createKey(member, slug, { environment: "test" });
    expect(test.key.startsWith("tg_test_")).toBe(true);
    expect(await verify(test.key)).toMatchObject({ ok: true, ctx: { environment: "test" } });
  });

  it("refuses bad key bodies (mass assignment included)", async () => {
    const { owner, slug } = await setup();
    for (const body of [
      {},
      { name: "k" },
      { name: "k", environment: "prod" },
      { name: "two\nlines", environment: "live" },
      { name: "k", environment: "live", projectId: "x" },
      { name: "k", environment: "live", createdBy: "someone" },
      { name: "k", environment: "live", expiresAt: "tomorrow" },
    ]) {
      expect((await owner.post(keysUrl(slug, "prod"), body)).status, JSON.stringify(body)).toBe(400);
    }
    const past = await owner.post(keysUrl(slug, "prod"), {
      name: "k",
      environment: "live",
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe("EXPIRY_IN_PAST");
  });

  it("verifies a key into its project context (what the gateway needs)", async () => {
    const { owner, org, slug, project } = await setup({
      defaultModel: "openai/gpt-4o-mini",
      allowedModels: ["openai/gpt-4o-mini"],
      rateLimit: { rpm: 100 },
      keyRateLimit: { rpm: 10, tpm: 5000 },
      monthlySpendCapUsd: "25.75",
      logBodies: true,
    });
    const k = await createKey(owner, slug);
    const res = await verify(k.key);
    expect(res).toEqual({
      ok: true,
      ctx: {
        keyId: k.id,
        keyName: "app server",
        environment: "live",
        createdBy: owner.user!.id,
        expiresAt: null,
        orgId: org.id,
        orgSlug: slug,
        projectId: project.id,
        projectSlug: "prod",
        defaultModel: "openai/gpt-4o-mini",
        allowedModels: ["openai/gpt-4o-mini"],
        keyAllowedModels: null,
        fallbackModels: [],
        rateLimit: { rpm: 100, tpm: null },
        keyRateLimit: { rpm: 10, tpm: 5000 },
        monthlySpendCapMicroUsd: 25_750_000n,
        logBodies: true,
        cache: { mode: "off", ttlSeconds: 3600 },
        keyBudget: null,
        endUserBudget: null,
        // Created by the owner, who may view billing.
        revealBalance: true,
      },
    });
    // Settings changes reach the cached context at once.
    expect(
      (await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { slug: "production", keyRateLimit: { rpm: 20 } }))
        .status,
    ).toBe(200);
    expect(await verify(k.key)).toMatchObject({
      ok: true,
      ctx: { projectSlug: "production", keyRateLimit: { rpm: 20, tpm: 5000 } },
    });
  });

  it("refuses malformed keys and bad checksums without a database lookup", async () => {
    const { owner, slug } = await setup();
    const k = await createKey(owner, slug);
    const before = t.app.keyVerifier.stats().lookups;
    const flipped = k.key.slice(0, -1) + (k.key.endsWith("x") ? "y" : "x");
    for (const raw of [flipped, k.key.replace("tg_live_", "tg_test_"), "' OR '1'='1", `${k.key}'--`, "tg_live_", ""]) {
      expect(await verify(raw)).toEqual({ ok: false, reason: "malformed" });
    }
    expect(t.app.keyVerifier.stats().lookups).toBe(before);
  });

  it("stores no key material beyond digests and hints (database dump)", async () => {
    const { owner, member, slug } = await setup();
    const keys = [await createKey(owner, slug), await createKey(member, slug, { environment: "test" })];
    await t.anon.get("/api/v1/me", { authorization: `Bearer ${keys[0]!.key}` });
    await verify(keys[0]!.key);
    await t.app.keyVerifier.flush();
    await owner.delete(`${keysUrl(slug, "prod")}/${keys[1]!.id}`);
    const tables = await rows<{ table_name: string }>(
      t,
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(["api_keys", "projects", "audit_log"]));
    let dump = "";
    for (const { table_name } of tables) {
      const r = await rows(t, sql`select * from ${sql.identifier(table_name)}`);
      dump += JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    }
    for (const { key, hint } of keys) {
      expect(dump).not.toContain(key);
      // No fragment of the secret part beyond the last 4 characters of the hint.
      const secret = key.slice(8, -4);
      for (let i = 0; i + 12 <= secret.length; i += 6) expect(dump).not.toContain(secret.slice(i, i + 12));
      expect(dump).toContain(hint);
    }
  });

  it("revocation is immediate in the verifier", async () => {
    const { owner, member, org, slug } = await setup();
    const k = await createKey(member, slug);
    expect((await verify(k.key)).ok).toBe(true);
    expect((await verify(k.key)).ok).toBe(true); // cached now
    const del = await member.delete(`${keysUrl(slug, "prod")}/${k.id}`);
    expect(del.status).toBe(204);
    expect(await verify(k.key)).toEqual({ ok: false, reason: "revoked" });
    const listed = (await owner.get(`${keysUrl(slug, "prod")}/${k.id}`)).body;
    expect(listed).toMatchObject({ status: "revoked", revokedReason: "revoked", revokedAt: expect.any(String) });
    // Revoking again changes nothing.
    expect((await owner.delete(`${keysUrl(slug, "prod")}/${k.id}`)).status).toBe(204);
    const audit = await rows<{ action: string; metadata: any }>(
      t,
      sql`select action, metadata from audit_log where org_id = ${org.id} and target_type = 'key' order by id`,
    );
    expect(audit.map((a) => a.action)).toEqual(["key.created", "key.revoked"]);
    expect(audit[1]!.metadata).toMatchObject({
      name: "app server",
      hint: k.hint,
      environment: "live",
      reason: "revoked",
    });
    expect(JSON.stringify(audit)).not.toContain(k.key.slice(8, -4));
  });

  it("refuses expired keys, cached or not", async () => {
    const { owner, slug } = await setup();
    const soon = await createKey(owner, slug, { expiresAt: new Date(Date.now() + 1200).toISOString() });
    expect((await verify(soon.key)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1300));
    expect(await verify(soon.key)).toEqual({ ok: false, reason: "expired" });
    expect((await owner.get(`${keysUrl(slug, "prod")}/${soon.id}`)).body.status).toBe("expired");
    // Expired in the database before it was ever cached.
    const other = await createKey(owner, slug, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await t.db.execute(sql`update api_keys set expires_at = now() - interval '1 second' where id = ${other.id}`);
    expect(await verify(other.key)).toEqual({ ok: false, reason: "expired" });
  });

  it("members revoke their own keys only; owners and admins any", async () => {
    const { owner, admin, member, slug } = await setup();
    const member2 = await (await import("./helpers/fixtures.js")).joinOrg(t, owner, slug, "member");
    await owner.put(`/api/v1/orgs/${slug}/projects/prod/members`, { userIds: [member.user!.id, member2.user!.id] });
    const mine = await createKey(member, slug);
    const theirs = await createKey(member2, slug);
    const adminKey = await createKey(admin, slug);

    const denied = await member.delete(`${keysUrl(slug, "prod")}/${theirs.id}`);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("FORBIDDEN");
    expect((await member.delete(`${keysUrl(slug, "prod")}/${adminKey.id}`)).status).toBe(403);
    expect((await verify(theirs.key)).ok).toBe(true);
    expect((await member.delete(`${keysUrl(slug, "prod")}/${mine.id}`)).status).toBe(204);
    expect((await admin.delete(`${keysUrl(slug, "prod")}/${theirs.id}`)).status).toBe(204);
    expect((await owner.delete(`${keysUrl(slug, "prod")}/${adminKey.id}`)).status).toBe(204);
    for (const k of [mine, theirs, adminKey]) expect(await verify(k.key)).toEqual({ ok: false, reason: "revoked" });
    const unknown = await owner.delete(`${keysUrl(slug, "prod")}/00000000-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("KEY_NOT_FOUND");
  });

  it("a key of one project is not reachable through another project or organization", async () => {
    const a = await setup();
    const b = await setup();
    const k = await createKey(a.owner, a.slug);
    await a.owner.post(`/api/v1/orgs/${a.slug}/projects`, { name: "Other", slug: "other" });
    expect((await a.owner.get(`${keysUrl(a.slug, "other")}/${k.id}`)).status).toBe(404);
    expect((await a.owner.delete(`${keysUrl(a.slug, "other")}/${k.id}`)).status).toBe(404);
    for (const res of [
      await b.owner.get(`${keysUrl(b.slug, "prod")}/${k.id}`),
      await b.owner.delete(`${keysUrl(b.slug, "prod")}/${k.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("KEY_NOT_FOUND");
    }
    expect((await verify(k.key)).ok).toBe(true);
  });

  it("removing a member revokes their keys unless keepKeys=true", async () => {
    const { owner, member, org, slug } = await setup();
    const member2 = await (await import("./helpers/fixtures.js")).joinOrg(t, owner, slug, "member");
    await owner.put(`/api/v1/orgs/${slug}/projects/prod/members`, { userIds: [member.user!.id, member2.user!.id] });
    const k1 = await createKey(member, slug);
    const k2 = await createKey(member2, slug);
    const ownerKey = await createKey(owner, slug);
    for (const k of [k1, k2]) expect((await verify(k.key)).ok).toBe(true);

    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${member.user!.id}`)).status).toBe(204);
    expect(await verify(k1.key)).toEqual({ ok: false, reason: "revoked" });
    expect((await owner.get(`${keysUrl(slug, "prod")}/${k1.id}`)).body).toMatchObject({
      status: "revoked",
      revokedReason: "member_removed",
    });

    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${member2.user!.id}?keepKeys=true`)).status).toBe(204);
    expect((await verify(k2.key)).ok).toBe(true);
    expect((await verify(ownerKey.key)).ok).toBe(true);
    const revoked = await rows<{ metadata: any }>(
      t,
      sql`select metadata from audit_log where org_id = ${org.id} and action = 'key.revoked'`,
    );
    expect(revoked.map((r) => r.metadata.reason)).toEqual(["member_removed"]);
  });

  it("a key created while its creator is being removed ends up revoked", async () => {
    const { owner, slug } = await setup();
    const { joinOrg } = await import("./helpers/fixtures.js");
    for (let round = 0; round < 3; round++) {
      const m = await joinOrg(t, owner, slug, "member");
      await owner.put(`/api/v1/orgs/${slug}/projects/prod/members`, { userIds: [m.user!.id] });
      const [created] = await Promise.all([
        m.post(keysUrl(slug, "prod"), { name: "racing", environment: "live" }),
        owner.delete(`/api/v1/orgs/${slug}/members/${m.user!.id}`),
      ]);
      if (created.status === 201) expect((await verify(created.body.key)).ok, `round ${round}`).toBe(false);
      else expect(created.status).toBe(404);
      const live = await rows(t, sql`select id from api_keys where created_by = ${m.user!.id} and revoked_at is null`);
      expect(live).toEqual([]);
    }
  });

  it("leaving the organization revokes your keys", async () => {
    const { member, slug } = await setup();
    const k = await createKey(member, slug);
    expect((await verify(k.key)).ok).toBe(true);
    expect((await member.post(`/api/v1/orgs/${slug}/leave`)).status).toBe(204);
    expect(await verify(k.key)).toEqual({ ok: false, reason: "revoked" });
  });

  it("unassigning a member from the project revokes their keys there unless keepKeys", async () => {
    const { owner, admin, member, slug } = await setup();
    await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Dev", slug: "dev" });
    await owner.put(`/api/v1/orgs/${slug}/projects/dev/members`, { userIds: [member.user!.id] });
    await owner.put(`/api/v1/orgs/${slug}/projects/prod/members`, { userIds: [member.user!.id, admin.user!.id] });
    const prodKey = await createKey(member, slug);
    const devKey = await createKey(member, slug, {}, "dev");
    const adminKey = await createKey(admin, slug);
    for (const k of [prodKey, devKey, adminKey]) expect((await verify(k.key)).ok).toBe(true);

    // Admins keep reaching the project (and their keys) without an assignment.
    expect((await owner.put(`/api/v1/orgs/${slug}/projects/prod/members`, { userIds: [] })).status).toBe(200);
    expect(await verify(prodKey.key)).toEqual({ ok: false, reason: "revoked" });
    expect((await verify(devKey.key)).ok).toBe(true);
    expect((await verify(adminKey.key)).ok).toBe(true);
    expect((await member.post(keysUrl(slug, "prod"), { name: "again", environment: "live" })).status).toBe(404);

    expect((await owner.put(`/api/v1/orgs/${slug}/projects/dev/members`, { userIds: [], keepKeys: true })).status).toBe(
      200,
    );
    expect((await verify(devKey.key)).ok).toBe(true);
  });

  it("deleting the project kills its keys at once", async () => {
    const { owner, slug } = await setup();
    const k = await createKey(owner, slug);
    expect((await verify(k.key)).ok).toBe(true);
    expect((await owner.delete(`/api/v1/orgs/${slug}/projects/prod`, { confirm: "prod" })).status).toBe(204);
    expect(await verify(k.key)).toEqual({ ok: false, reason: "unknown" });
  });

  it("deleting the organization kills its keys at once", async () => {
    const { owner, slug } = await setup();
    const k = await createKey(owner, slug);
    expect((await verify(k.key)).ok).toBe(true);
    expect((await owner.delete(`/api/v1/orgs/${slug}`, { confirm: slug })).status).toBe(204);
    expect(await verify(k.key)).toEqual({ ok: false, reason: "unknown" });
  });

  // That the write is batched (never on the request path) is asserted in key-verifier.test.ts with a stub
  // store; here the verifier's own 5-second timer may flush at any moment, so only the outcome is checked.
  it("records last use (written in batches)", async () => {
    const { owner, slug } = await setup();
    const k = await createKey(owner, slug);
    expect((await owner.get(`${keysUrl(slug, "prod")}/${k.id}`)).body.lastUsedAt).toBeNull();
    await verify(k.key);
    await t.app.keyVerifier.flush();
    const after = (await owner.get(`${keysUrl(slug, "prod")}/${k.id}`)).body.lastUsedAt;
    expect(Date.now() - Date.parse(after)).toBeLessThan(10_000);
  });

  it("a key cannot call the management API", async () => {
    const { owner, slug } = await setup();
    const k = await createKey(owner, slug);
    for (const headers of [{ authorization: `Bearer ${k.key}` }, { "x-api-key": k.key }] as Array<
      Record<string, string>
    >) {
      for (const url of ["/api/v1/me", "/api/v1/orgs", `/api/v1/orgs/${slug}/projects`, `${keysUrl(slug, "prod")}`]) {
        const res = await t.anon.get(url, headers);
        expect(res.status, `${url} ${Object.keys(headers)[0]}`).toBe(401);
        expect(res.body.error.code).toBe("UNAUTHENTICATED");
        expect(res.raw.body).not.toContain(k.key);
      }
      const create = await t.anon.post(keysUrl(slug, "prod"), { name: "x", environment: "live" }, headers);
      expect(create.status).toBe(401);
    }
  });
});
