/**
 * Organizations: creation with unique slugs, slug rules, settings, deletion
 * confirmed by the slug, and the remembered active organization.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slugSchema } from "../src/modules/organizations/organizations.schema.js";
import { PASSWORD, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, count, createOrg, personalSlug, team } from "./helpers/fixtures.js";

describe(`organizations (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("creates an organization with a slug from its name; the creator is its owner", async () => {
    const u = await t.signUp();
    const res = await u.post("/api/v1/orgs", { name: "Zeta Labs Ünïcode", description: "Our AI apps" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: "Zeta Labs Ünïcode",
      description: "Our AI apps",
      slug: "zeta-labs-unicode",
      personal: false,
      role: "owner",
    });
    const got = await u.get(`/api/v1/orgs/${res.body.slug}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(res.body.id);
    const mine = await u.get("/api/v1/orgs");
    expect(mine.body.organizations.map((o: { slug: string }) => o.slug)).toEqual([
      await personalSlug(u),
      "zeta-labs-unicode",
    ]);
    const members = await u.get(`/api/v1/orgs/${res.body.slug}/members`);
    expect(members.body.members).toEqual([expect.objectContaining({ userId: u.user!.id, role: "owner" })]);
  });

  it("two organizations with the same name get different slugs", async () => {
    const a = await t.signUp();
    const b = await t.signUp();
    const first = await createOrg(a, { name: "Same Name" });
    const second = await createOrg(b, { name: "Same Name" });
    const third = await createOrg(a, { name: "Same Name" });
    expect(first.slug).toBe("same-name");
    expect(new Set([first.slug, second.slug, third.slug]).size).toBe(3);
    for (const s of [second.slug, third.slug]) expect(s).toMatch(/^same-name-[a-z0-9]+$/);
  });

  it("a name that makes a reserved, short or empty slug still gets a valid, usable one", async () => {
    const u = await t.signUp();
    for (const name of ["API", "x", "!!!", "東京", "Org"]) {
      const org = await createOrg(u, { name });
      expect(slugSchema.safeParse(org.slug).success, `${name} → ${org.slug}`).toBe(true);
      // Usable: the owner can save settings with the slug they were given.
      const same = await u.patch(`/api/v1/orgs/${org.slug}`, { slug: org.slug, name: `${name} renamed` });
      expect(same.status, `${name} → ${org.slug}`).toBe(200);
    }
    // A personal organization of someone whose name has no latin letters, too.
    const tokyo = await t.signUp({ name: "東京太郎" });
    expect(slugSchema.safeParse(await personalSlug(tokyo)).success).toBe(true);
  });

  it("validates explicit slugs", async () => {
    const u = await t.signUp();
    const before = await count(t, "organizations");
    for (const slug of [
      "Acme",
      "ab",
      "a".repeat(49),
      "api",
      "admin",
      "double--hyphen",
      "-lead",
      "trail-",
      "with space",
      "ünï",
    ]) {
      const res = await u.post("/api/v1/orgs", { name: "Slug Test", slug });
      expect(res.status, slug).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
      expect(res.body.error.details[0].path).toBe("body.slug");
    }
    expect(await count(t, "organizations")).toBe(before);
    const ok = await u.post("/api/v1/orgs", { name: "Slug Test", slug: "a".repeat(48) });
    expect(ok.status).toBe(201);
    expect((await u.post("/api/v1/orgs", { name: "Slug Test", slug: "abc" })).status).toBe(201);
  });

  it("a taken slug is 409 SLUG_TAKEN on create and on update", async () => {
    const a = await t.signUp();
    const b = await t.signUp();
    await createOrg(a, { name: "Taken", slug: "taken-slug" });
    const dup = await b.post("/api/v1/orgs", { name: "Mine", slug: "taken-slug" });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("SLUG_TAKEN");
    const own = await createOrg(b, { name: "Mine" });
    const upd = await b.patch(`/api/v1/orgs/${own.slug}`, { slug: "taken-slug" });
    expect(upd.status).toBe(409);
    expect(upd.body.error.code).toBe("SLUG_TAKEN");
    expect((await b.get(`/api/v1/orgs/${own.slug}`)).status).toBe(200);
  });

  it("concurrent creates: the same explicit slug gives one 201 and one 409; the same name gives two slugs", async () => {
    const a = await t.signUp();
    const b = await t.signUp();
    const slug = `race-${Date.now().toString(36)}`;
    const [x, y] = await Promise.all([
      a.post("/api/v1/orgs", { name: "Race", slug }),
      b.post("/api/v1/orgs", { name: "Race", slug }),
    ]);
    expect([x.status, y.status].sort()).toEqual([201, 409]);
    expect([x, y].find((r) => r.status === 409)!.body.error.code).toBe("SLUG_TAKEN");
    expect(await count(t, "organizations", sql`slug = ${slug}`)).toBe(1);

    const name = `Twin ${Date.now().toString(36)}`;
    const twins = await Promise.all([
      a.post("/api/v1/orgs", { name }),
      b.post("/api/v1/orgs", { name }),
      a.post("/api/v1/orgs", { name }),
    ]);
    expect(twins.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(twins.map((r) => r.body.slug)).size).toBe(3);
  });

  it("owner and admin update name, description and slug; a member gets 403", async () => {
    const { owner, admin, member, slug, org } = await team(t, "Settings Co");
    const byMember = await member.patch(`/api/v1/orgs/${slug}`, { name: "Hijacked" });
    expect(byMember.status).toBe(403);
    expect(byMember.body.error.code).toBe("FORBIDDEN");

    const byAdmin = await admin.patch(`/api/v1/orgs/${slug}`, { name: "Settings Inc", description: "new words" });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ name: "Settings Inc", description: "new words", slug, role: "admin" });

    const newSlug = `renamed-${Date.now().toString(36)}`;
    const bySlug = await owner.patch(`/api/v1/orgs/${slug}`, { slug: newSlug });
    expect(bySlug.status).toBe(200);
    expect(bySlug.body.slug).toBe(newSlug);
    expect((await member.get(`/api/v1/orgs/${slug}`)).status).toBe(404);
    const got = await member.get(`/api/v1/orgs/${newSlug}`);
    expect(got.body).toMatchObject({ id: org.id, name: "Settings Inc", description: "new words", role: "member" });

    const empty = await owner.patch(`/api/v1/orgs/${newSlug}`, {});
    expect(empty.status).toBe(400);
    expect((await owner.patch(`/api/v1/orgs/${newSlug}`, { slug: "API" })).status).toBe(400);
  });

  it("delete: owner only, confirmed by the slug; afterwards 404 for everyone and gone from /me", async () => {
    const { owner, admin, member, slug, org } = await team(t, "Doomed");
    expect((await admin.delete(`/api/v1/orgs/${slug}`, { confirm: slug })).status).toBe(403);
    expect((await member.delete(`/api/v1/orgs/${slug}`, { confirm: slug })).status).toBe(403);

    const wrong = await owner.delete(`/api/v1/orgs/${slug}`, { confirm: "not-the-slug" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe("CONFIRMATION_MISMATCH");
    expect((await owner.get(`/api/v1/orgs/${slug}`)).status).toBe(200);
    const missing = await owner.delete(`/api/v1/orgs/${slug}`);
    expect(missing.status).toBe(400);

    // The member had switched to it.
    expect((await member.patch("/api/v1/me", { activeOrganization: slug })).body.activeOrganization).toBe(slug);

    const ok = await owner.delete(`/api/v1/orgs/${slug}`, { confirm: slug });
    expect(ok.status).toBe(204);
    for (const c of [owner, admin, member]) {
      const res = await c.get(`/api/v1/orgs/${slug}`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("ORG_NOT_FOUND");
      expect((await c.get(`/api/v1/orgs/${slug}/members`)).status).toBe(404);
      const me = await c.get("/api/v1/me");
      expect(me.body.organizations.map((o: { slug: string }) => o.slug)).not.toContain(slug);
      expect(me.body.activeOrganization).toBe(await personalSlug(c));
    }
    expect(await count(t, "members", sql`org_id = ${org.id}`)).toBe(0);
    expect(await count(t, "invitations", sql`org_id = ${org.id}`)).toBe(0);
    // The trail survives the organization.
    expect((await auditActions(t, org.id)).at(-1)).toBe("org.deleted");
  });

  it("the active organization switch is remembered across a new sign-in", async () => {
    const u = await t.signUp();
    const personal = await personalSlug(u);
    const a = await createOrg(u, { name: "Switch A" });
    await createOrg(u, { name: "Switch B" });
    const switched = await u.patch("/api/v1/me", { activeOrganization: a.slug });
    expect(switched.status).toBe(200);
    expect(switched.body.activeOrganization).toBe(a.slug);

    const again = await t.signIn(u.user!.email, PASSWORD);
    expect((await again.get("/api/v1/me")).body.activeOrganization).toBe(a.slug);

    const notMine = await createOrg(await t.signUp(), { name: "Not Mine" });
    const bad = await again.patch("/api/v1/me", { activeOrganization: notMine.slug });
    expect(bad.status).toBe(404);
    expect(bad.body.error.code).toBe("ORG_NOT_FOUND");
    expect((await again.get("/api/v1/me")).body.activeOrganization).toBe(a.slug);

    expect((await again.patch("/api/v1/me", { activeOrganization: personal })).body.activeOrganization).toBe(personal);
    expect((await u.get("/api/v1/me")).body.activeOrganization).toBe(personal);
  });

  it("a personal organization of a long-named user can be saved as it is", async () => {
    const u = await t.signUp({ name: "N".repeat(100) });
    const slug = await personalSlug(u);
    const org = (await u.get(`/api/v1/orgs/${slug}`)).body;
    expect(org.name.length).toBeLessThanOrEqual(100);
    expect(org.name).toMatch(/'s organization$/);
    const resave = await u.patch(`/api/v1/orgs/${slug}`, {
      name: org.name,
      description: org.description,
      slug: org.slug,
    });
    expect(resave.status).toBe(200);
  });

  it("updates the user's name via /me", async () => {
    const u = await t.signUp({ name: "Before" });
    const res = await u.patch("/api/v1/me", { name: "  After  " });
    expect(res.status).toBe(200);
    expect(res.body.user.name).toBe("After");
    expect((await u.get("/api/v1/me")).body.user.name).toBe("After");
  });
});
