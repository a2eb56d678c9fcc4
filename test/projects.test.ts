/**
 * Projects over HTTP: CRUD and validation, slugs unique per organization,
 * settings (money exact), member scope (assigned only, others 404), project
 * assignments, deletion, cross-organization isolation.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, createOrg, rows, team } from "./helpers/fixtures.js";

describe(`projects (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const base = (slug: string) => `/api/v1/orgs/${slug}/projects`;
  async function newProject(c: Client, slug: string, body: Record<string, unknown> = {}) {
    const res = await c.post(base(slug), { name: "Production API", ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  it("creates a project with settings; money is exact", async () => {
    const { owner, org, slug } = await team(t);
    const res = await owner.post(base(slug), {
      name: "Production API",
      description: "The customer-facing app",
      environment: "production",
      defaultModel: "openai/gpt-4o-mini",
      allowedModels: ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku"],
      rateLimit: { rpm: 600, tpm: 200000 },
      keyRateLimit: { rpm: 60 },
      monthlySpendCapUsd: "12.5",
      logBodies: true,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      slug: "production-api",
      name: "Production API",
      description: "The customer-facing app",
      environment: "production",
      defaultModel: "openai/gpt-4o-mini",
      allowedModels: ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku"],
      rateLimit: { rpm: 600, tpm: 200000 },
      keyRateLimit: { rpm: 60, tpm: null },
      monthlySpendCapMicroUsd: "12500000",
      monthlySpendCapUsd: "12.500000",
      logBodies: true,
    });
    const [row] = await rows<{ cap: string }>(
      t,
      sql`select monthly_spend_cap_micro_usd::text as cap from projects where id = ${res.body.id}`,
    );
    expect(row!.cap).toBe("12500000");
    expect(await auditActions(t, org.id)).toContain("project.created");

    const minimal = await newProject(owner, slug, { name: "Sandbox" });
    expect(minimal).toMatchObject({
      slug: "sandbox",
      description: "",
      environment: "development",
      defaultModel: null,
      allowedModels: [],
      rateLimit: { rpm: null, tpm: null },
      monthlySpendCapMicroUsd: null,
      monthlySpendCapUsd: null,
      logBodies: false,
    });
    // A number is read through its decimal form, never as a float sum.
    const num = await newProject(owner, slug, { name: "Num", monthlySpendCapUsd: 0.3 });
    expect(num.monthlySpendCapMicroUsd).toBe("300000");
  });

  it("validates the body and refuses unknown fields", async () => {
    const { owner, slug } = await team(t);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{}, "VALIDATION_ERROR"],
      [{ name: "x", slug: "Bad Slug" }, "VALIDATION_ERROR"],
      [{ name: "line\nbreak" }, "VALIDATION_ERROR"],
      [{ name: "x", slug: "settings" }, "VALIDATION_ERROR"],
      [{ name: "x", orgId: "someone-else" }, "VALIDATION_ERROR"],
      [{ name: "x", environment: "prod" }, "VALIDATION_ERROR"],
      [{ name: "x", monthlySpendCapUsd: "1.0000001" }, "VALIDATION_ERROR"],
      [{ name: "x", monthlySpendCapUsd: "-5" }, "VALIDATION_ERROR"],
      [{ name: "x", monthlySpendCapUsd: "1e3" }, "VALIDATION_ERROR"],
      [{ name: "x", monthlySpendCapUsd: "2000000000" }, "VALIDATION_ERROR"],
      [{ name: "x", rateLimit: { rpm: 0 } }, "VALIDATION_ERROR"],
      [{ name: "x", rateLimit: { rpm: 1.5 } }, "VALIDATION_ERROR"],
      [{ name: "x", rateLimit: { rps: 5 } }, "VALIDATION_ERROR"],
      [{ name: "x", allowedModels: ["a/b", "a/b"] }, "VALIDATION_ERROR"],
      [{ name: "x", defaultModel: "has space" }, "VALIDATION_ERROR"],
      [{ name: "x", defaultModel: "openai/gpt-4o", allowedModels: ["anthropic/claude"] }, "DEFAULT_MODEL_NOT_ALLOWED"],
      // Wildcards: whole providers only, and only in allowedModels.
      [{ name: "x", allowedModels: ["openai/gpt-*"] }, "VALIDATION_ERROR"],
      [{ name: "x", allowedModels: ["*"] }, "VALIDATION_ERROR"],
      [{ name: "x", allowedModels: ["*/gpt-4o"] }, "VALIDATION_ERROR"],
      [{ name: "x", allowedModels: ["OpenAI/*"] }, "VALIDATION_ERROR"],
      [{ name: "x", defaultModel: "openai/*" }, "VALIDATION_ERROR"],
      [{ name: "x", fallbackModels: ["mock/*"] }, "VALIDATION_ERROR"],
      [
        { name: "x", defaultModel: "anthropic/claude-sonnet-4-0", allowedModels: ["openai/*"] },
        "DEFAULT_MODEL_NOT_ALLOWED",
      ],
    ];
    for (const [body, code] of bad) {
      const res = await owner.post(base(slug), body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code, JSON.stringify(body)).toBe(code);
    }
    expect((await owner.get(base(slug))).body.projects).toEqual([]);
    const wildcard = await owner.post(base(slug), { name: "x", allowedModels: ["openai/gpt-*"] });
    expect(wildcard.body.error.message).toContain("provider/*");
  });

  it("allowedModels accepts provider/* entries; the default model may be any model they cover", async () => {
    const { owner, slug } = await team(t);
    const p = await newProject(owner, slug, {
      name: "Wild",
      allowedModels: ["openai/*", "my-vllm/*", "mock/echo"],
      defaultModel: "openai/gpt-4o",
    });
    expect(p).toMatchObject({ allowedModels: ["openai/*", "my-vllm/*", "mock/echo"], defaultModel: "openai/gpt-4o" });
    const patched = await owner.patch(`${base(slug)}/wild`, { allowedModels: ["mock/*"], defaultModel: "mock/lorem" });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ allowedModels: ["mock/*"], defaultModel: "mock/lorem" });
    const clash = await owner.patch(`${base(slug)}/wild`, { allowedModels: ["openai/*"] });
    expect(clash.status).toBe(400);
    expect(clash.body.error.code).toBe("DEFAULT_MODEL_NOT_ALLOWED");
  });

  it("slugs are unique per organization and editable", async () => {
    const a = await team(t);
    const otherOrg = await createOrg(a.owner);
    await newProject(a.owner, a.slug, { name: "Prod", slug: "prod" });
    const dup = await a.owner.post(base(a.slug), { name: "Prod again", slug: "prod" });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("SLUG_TAKEN");
    // Another organization may use the same slug.
    await newProject(a.owner, otherOrg.slug, { name: "Prod", slug: "prod" });
    // A generated slug that is taken gets a suffix.
    const gen = await newProject(a.owner, a.slug, { name: "Prod" });
    expect(gen.slug).toMatch(/^prod-[0-9a-f]{6}$/);

    const staging = await newProject(a.owner, a.slug, { name: "Staging", slug: "staging" });
    const taken = await a.admin.patch(`${base(a.slug)}/staging`, { slug: "prod" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("SLUG_TAKEN");
    const renamed = await a.admin.patch(`${base(a.slug)}/staging`, { slug: "stage", name: "Stage" });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: staging.id, slug: "stage", name: "Stage" });
    expect((await a.owner.get(`${base(a.slug)}/staging`)).status).toBe(404);
    expect((await a.owner.get(`${base(a.slug)}/stage`)).body.id).toBe(staging.id);
  });

  it("updates settings partially; null clears", async () => {
    const { owner, admin, org, slug } = await team(t);
    await newProject(owner, slug, {
      name: "P",
      slug: "proj",
      rateLimit: { rpm: 10, tpm: 1000 },
      monthlySpendCapUsd: "100",
    });
    const res = await admin.patch(`${base(slug)}/proj`, {
      rateLimit: { rpm: 20 },
      monthlySpendCapUsd: null,
      allowedModels: ["openai/gpt-4o"],
      defaultModel: "openai/gpt-4o",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      rateLimit: { rpm: 20, tpm: 1000 },
      monthlySpendCapMicroUsd: null,
      monthlySpendCapUsd: null,
      defaultModel: "openai/gpt-4o",
    });
    // The default model must stay within the allowed list.
    const clash = await admin.patch(`${base(slug)}/proj`, { allowedModels: ["anthropic/claude"] });
    expect(clash.status).toBe(400);
    expect(clash.body.error.code).toBe("DEFAULT_MODEL_NOT_ALLOWED");
    expect((await admin.patch(`${base(slug)}/proj`, {})).status).toBe(400);
    const [audit] = await rows<{ metadata: any }>(
      t,
      sql`select metadata from audit_log where org_id = ${org.id} and action = 'project.updated' order by id limit 1`,
    );
    expect(audit!.metadata.changes.monthlySpendCapMicroUsd).toEqual({ from: "100000000", to: null });
    expect(audit!.metadata.changes.rateLimitRpm).toEqual({ from: 10, to: 20 });
  });

  it("members see only assigned projects; anything else is 404", async () => {
    const { owner, admin, member, slug } = await team(t);
    const prod = await newProject(owner, slug, { name: "Prod", slug: "prod" });
    await newProject(owner, slug, { name: "Dev", slug: "dev" });

    expect((await member.get(base(slug))).body.projects).toEqual([]);
    for (const path of ["prod", "dev", "nope"]) {
      const res = await member.get(`${base(slug)}/${path}`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("PROJECT_NOT_FOUND");
    }
    // Unassigned: the same answer before the body is looked at, for every project route.
    const keys = await member.post(`${base(slug)}/prod/keys`, { bogus: true });
    expect(keys.status).toBe(404);
    expect(keys.body.error.code).toBe("PROJECT_NOT_FOUND");

    const put = await owner.put(`${base(slug)}/prod/members`, { userIds: [member.user!.id] });
    expect(put.status).toBe(200);
    expect((await member.get(base(slug))).body.projects.map((p: any) => p.slug)).toEqual(["prod"]);
    expect((await member.get(`${base(slug)}/prod`)).body.id).toBe(prod.id);
    expect((await member.get(`${base(slug)}/dev`)).status).toBe(404);
    // Assigned members still cannot manage the project.
    expect((await member.patch(`${base(slug)}/prod`, { name: "Mine" })).status).toBe(403);
    expect((await member.delete(`${base(slug)}/prod`, { confirm: "prod" })).status).toBe(403);
    expect((await member.get(`${base(slug)}/prod/members`)).status).toBe(403);
    expect((await member.post(base(slug), { name: "New" })).status).toBe(403);
    // Owners and admins reach every project without an assignment.
    for (const c of [owner, admin])
      expect((await c.get(base(slug))).body.projects.map((p: any) => p.slug).sort()).toEqual(["dev", "prod"]);
  });

  it("manages assignments with GET/PUT (owner, admin)", async () => {
    const { owner, admin, member, org, slug } = await team(t);
    await newProject(owner, slug, { name: "Prod", slug: "prod" });
    const stranger = await t.signUp();
    const notMember = await admin.put(`${base(slug)}/prod/members`, { userIds: [member.user!.id, stranger.user!.id] });
    expect(notMember.status).toBe(400);
    expect(notMember.body.error.code).toBe("NOT_A_MEMBER");
    expect(notMember.body.error.details).toEqual({ userIds: [stranger.user!.id] });

    const put = await admin.put(`${base(slug)}/prod/members`, {
      userIds: [member.user!.id, admin.user!.id, member.user!.id],
    });
    expect(put.status).toBe(200);
    expect(put.body.members.map((m: any) => [m.email, m.role]).sort()).toEqual(
      [
        [admin.user!.email, "admin"],
        [member.user!.email, "member"],
      ].sort(),
    );
    const get = await owner.get(`${base(slug)}/prod/members`);
    expect(get.body.members).toHaveLength(2);
    expect(get.body.members[0]).toEqual({
      userId: expect.any(String),
      name: expect.any(String),
      email: expect.any(String),
      role: expect.any(String),
      assignedAt: expect.any(String),
    });

    const cleared = await owner.put(`${base(slug)}/prod/members`, { userIds: [] });
    expect(cleared.body.members).toEqual([]);
    expect((await member.get(`${base(slug)}/prod`)).status).toBe(404);
    expect((await owner.put(`${base(slug)}/prod/members`, { userIds: [], extra: 1 })).status).toBe(400);
    expect((await auditActions(t, org.id)).filter((a) => a === "project.members_updated")).toHaveLength(2);
  });

  it("removal from the organization drops project assignments", async () => {
    const { owner, member, slug } = await team(t);
    await newProject(owner, slug, { name: "Prod", slug: "prod" });
    await owner.put(`${base(slug)}/prod/members`, { userIds: [member.user!.id] });
    expect((await owner.delete(`/api/v1/orgs/${slug}/members/${member.user!.id}`)).status).toBe(204);
    expect((await owner.get(`${base(slug)}/prod/members`)).body.members).toEqual([]);
  });

  it("deletes a project only with its slug confirmed", async () => {
    const { owner, admin, org, slug } = await team(t);
    const p = await newProject(owner, slug, { name: "Old", slug: "old" });
    const wrong = await admin.delete(`${base(slug)}/old`, { confirm: "OLD" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe("CONFIRMATION_MISMATCH");
    expect((await admin.delete(`${base(slug)}/old`)).status).toBe(400);
    expect((await admin.delete(`${base(slug)}/old`, { confirm: "old" })).status).toBe(204);
    expect((await owner.get(`${base(slug)}/old`)).status).toBe(404);
    expect(await rows(t, sql`select id from projects where id = ${p.id}`)).toEqual([]);
    expect(await auditActions(t, org.id)).toContain("project.deleted");
    expect((await admin.delete(`${base(slug)}/old`, { confirm: "old" })).status).toBe(404);
  });

  it("never reaches another organization's projects", async () => {
    const a = await team(t);
    const b = await team(t);
    await newProject(a.owner, a.slug, { name: "Secret", slug: "secret" });
    // Org B's owner, addressing org A's project through org B: not found there.
    for (const [method, path, body] of [
      ["GET", "secret", undefined],
      ["PATCH", "secret", { name: "pwned" }],
      ["DELETE", "secret", { confirm: "secret" }],
      ["GET", "secret/members", undefined],
      ["PUT", "secret/members", { userIds: [] }],
      ["GET", "secret/keys", undefined],
      ["POST", "secret/keys", { name: "k", environment: "live" }],
    ] as const) {
      const res = await b.owner.request(method, `${base(b.slug)}/${path}`, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe("PROJECT_NOT_FOUND");
      // And through org A's slug: not a member there.
      const direct = await b.owner.request(method, `${base(a.slug)}/${path}`, body);
      expect(direct.status).toBe(404);
      expect(direct.body.error.code).toBe("ORG_NOT_FOUND");
    }
    expect((await a.owner.get(`${base(a.slug)}/secret`)).body.name).toBe("Secret");
    expect((await b.owner.get(base(b.slug))).body.projects).toEqual([]);
  });

  it("documents the routes in OpenAPI", async () => {
    const doc = await t.anon.get("/api/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/orgs/{org}/projects",
        "/api/v1/orgs/{org}/projects/{project}",
        "/api/v1/orgs/{org}/projects/{project}/members",
        "/api/v1/orgs/{org}/projects/{project}/keys",
        "/api/v1/orgs/{org}/projects/{project}/keys/{keyId}",
      ]),
    );
  });
});
