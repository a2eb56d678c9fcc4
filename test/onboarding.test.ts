/**
 * The first-run checklist over HTTP: a new organization has every step open;
 * each step is ticked by the real action (a project, a key, a gateway call
 * through the mock provider, an invitation, a security policy, an operator's
 * credit grant) and opened again when the state goes (the last key revoked).
 * Role-aware: members read it, without the credits step and with "may not do"
 * on what their role cannot do; admins see credits but only owners add them.
 * Hiding it is per person (an API token may not); on an instance without
 * prepaid credits there is no credits step.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits, joinOrg } from "./helpers/fixtures.js";

interface Step {
  id: string;
  done: boolean;
  canDo: boolean;
  href?: string;
}
interface Checklist {
  steps: Step[];
  dismissed: boolean;
  project: { slug: string; name: string; defaultModel: string | null } | null;
}

const ALL_STEPS = ["project", "key", "first_request", "teammate", "policy", "credits"];

async function checklist(c: Client, slug: string): Promise<Checklist> {
  const res = await c.get<Checklist>(`/api/v1/orgs/${slug}/onboarding`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
const done = (c: Checklist) => c.steps.filter((s) => s.done).map((s) => s.id);
const step = (c: Checklist, id: string) => c.steps.find((s) => s.id === id);

describe(`onboarding checklist (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let slug: string;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await t.signUp();
    slug = (await createOrg(owner)).slug;
  });
  afterAll(() => t?.close());

  it("a new organization has every step open, each with where the owner does it", async () => {
    const c = await checklist(owner, slug);
    expect(c.steps.map((s) => s.id)).toEqual(ALL_STEPS);
    expect(done(c)).toEqual([]);
    expect(c.dismissed).toBe(false);
    expect(c.project).toBeNull();
    expect(step(c, "project")).toEqual({ id: "project", done: false, canDo: true, href: `/${slug}` });
    // No project yet: nowhere to make a key in.
    expect(step(c, "key")).toEqual({ id: "key", done: false, canDo: false });
    expect(step(c, "teammate")?.href).toBe(`/${slug}/settings/team`);
    expect(step(c, "policy")?.href).toBe(`/${slug}/security`);
    expect(step(c, "credits")).toEqual({
      id: "credits",
      done: false,
      canDo: true,
      href: `/${slug}/settings/billing`,
    });
  });

  it("each step is ticked by the real action, in any order the state allows", async () => {
    const p = await owner.post(`/api/v1/orgs/${slug}/projects`, {
      name: "Shop",
      slug: "shop",
      defaultModel: "mock/echo",
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    let c = await checklist(owner, slug);
    expect(done(c)).toEqual(["project"]);
    expect(c.project).toEqual({ slug: "shop", name: "Shop", defaultModel: "mock/echo" });
    expect(step(c, "key")).toMatchObject({ canDo: true, href: `/${slug}/projects/shop/keys` });

    const k = await owner.post(`/api/v1/orgs/${slug}/projects/shop/keys`, { name: "backend", environment: "live" });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    expect(done(await checklist(owner, slug))).toEqual(["project", "key"]);

    const call = await t.anon.post(
      "/v1/chat/completions",
      { model: "mock/echo", messages: [{ role: "user", content: "hello, checklist" }] },
      { authorization: `Bearer ${k.body.key}` },
    );
    expect(call.status, JSON.stringify(call.body)).toBe(200);
    await t.app.flushLogs();
    expect(done(await checklist(owner, slug))).toEqual(["project", "key", "first_request"]);

    const inv = await owner.post(`/api/v1/orgs/${slug}/invitations`, { email: "later@example.com", role: "member" });
    expect(inv.status, JSON.stringify(inv.body)).toBe(201);
    expect(done(await checklist(owner, slug))).toEqual(["project", "key", "first_request", "teammate"]);

    const put = await owner.put(`/api/v1/orgs/${slug}/security-policy`, { pii: { email: "mask" } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(done(await checklist(owner, slug))).toEqual(["project", "key", "first_request", "teammate", "policy"]);

    await grantCredits(t, slug, "5");
    c = await checklist(owner, slug);
    expect(done(c)).toEqual(ALL_STEPS);
    expect(c.dismissed).toBe(false);
  });

  it("is computed, not stored: revoking the last key opens the key step again", async () => {
    const keys = await owner.get(`/api/v1/orgs/${slug}/projects/shop/keys`);
    for (const k of keys.body.keys as Array<{ id: string }>)
      expect((await owner.delete(`/api/v1/orgs/${slug}/projects/shop/keys/${k.id}`)).status).toBe(204);
    const c = await checklist(owner, slug);
    expect(step(c, "key")?.done).toBe(false);
    // The request already made stays made.
    expect(step(c, "first_request")?.done).toBe(true);
  });

  it("a revoked invitation is no teammate; a member who joined is", async () => {
    const other = await t.signUp();
    const o = await createOrg(other);
    const inv = await other.post(`/api/v1/orgs/${o.slug}/invitations`, { email: "gone@example.com", role: "admin" });
    expect(step(await checklist(other, o.slug), "teammate")?.done).toBe(true);
    expect((await other.delete(`/api/v1/orgs/${o.slug}/invitations/${inv.body.id}`)).status).toBe(204);
    expect(step(await checklist(other, o.slug), "teammate")?.done).toBe(false);
    await joinOrg(t, other, o.slug, "member");
    expect(step(await checklist(other, o.slug), "teammate")?.done).toBe(true);
  });

  it("members read it without the credits step, and are told what they may not do", async () => {
    const member = await joinOrg(t, owner, slug, "member");
    let c = await checklist(member, slug);
    expect(c.steps.map((s) => s.id)).toEqual(["project", "key", "first_request", "teammate", "policy"]);
    for (const id of ["project", "teammate", "policy"]) {
      expect(step(c, id)?.canDo, id).toBe(false);
      expect(step(c, id)?.href, id).toBeUndefined();
    }
    // Not assigned to any project: no project of theirs to make a key in.
    expect(step(c, "key")).toMatchObject({ canDo: false });
    expect(c.project).toBeNull();
    // The organization's state is the same for everyone.
    expect(step(c, "project")?.done).toBe(true);
    expect(step(c, "policy")?.done).toBe(true);

    const assign = await owner.put(`/api/v1/orgs/${slug}/projects/shop/members`, { userIds: [member.user!.id] });
    expect(assign.status, JSON.stringify(assign.body)).toBe(200);
    c = await checklist(member, slug);
    expect(step(c, "key")).toMatchObject({ canDo: true, href: `/${slug}/projects/shop/keys` });
    expect(step(c, "first_request")).toMatchObject({ canDo: true, href: `/${slug}/projects/shop/keys` });
    expect(c.project?.slug).toBe("shop");

    const admin = await joinOrg(t, owner, slug, "admin");
    const a = await checklist(admin, slug);
    expect(a.steps.map((s) => s.id)).toEqual(ALL_STEPS);
    expect(step(a, "teammate")).toMatchObject({ canDo: true, href: `/${slug}/settings/team` });
    // Admins read billing; only the owner adds credits.
    expect(step(a, "credits")).toEqual({ id: "credits", done: true, canDo: false });
  });

  it("hiding is each person's own: 204, idempotent, nobody else's card changes; tokens may not", async () => {
    const member = await joinOrg(t, owner, slug, "member");
    expect((await member.post(`/api/v1/orgs/${slug}/onboarding/dismiss`)).status).toBe(204);
    expect((await member.post(`/api/v1/orgs/${slug}/onboarding/dismiss`, {})).status).toBe(204);
    expect((await checklist(member, slug)).dismissed).toBe(true);
    expect((await checklist(owner, slug)).dismissed).toBe(false);

    const bad = await owner.post(`/api/v1/orgs/${slug}/onboarding/dismiss`, { everyone: true });
    expect(bad.status).toBe(400);
    expect((await checklist(owner, slug)).dismissed).toBe(false);

    const minted = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "CI", role: "admin" });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    const bearer = { authorization: `Bearer ${minted.body.token}` };
    const read = await t.anon.get(`/api/v1/orgs/${slug}/onboarding`, bearer);
    expect(read.status).toBe(200);
    const byToken = await t.anon.post(`/api/v1/orgs/${slug}/onboarding/dismiss`, {}, bearer);
    expect(byToken.status).toBe(403);
    expect(byToken.body.error.code).toBe("API_TOKEN_FORBIDDEN");

    expect((await owner.post(`/api/v1/orgs/${slug}/onboarding/dismiss`)).status).toBe(204);
    expect((await checklist(owner, slug)).dismissed).toBe(true);
  });

  it("outsiders get 404, signed-out callers 401", async () => {
    const stranger = await t.signUp();
    const res = await stranger.get(`/api/v1/orgs/${slug}/onboarding`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("ORG_NOT_FOUND");
    expect((await t.anon.get(`/api/v1/orgs/${slug}/onboarding`)).status).toBe(401);
  });
});

describe(`onboarding checklist without prepaid credits (${storageKind})`, () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it("has no credits step", async () => {
    t = await startTestApp({ env: { TOLLGATE_BILLING: "off" } });
    const owner = await t.signUp();
    const { slug } = await createOrg(owner);
    const c = await checklist(owner, slug);
    expect(c.steps.map((s) => s.id)).toEqual(["project", "key", "first_request", "teammate", "policy"]);
  });
});
