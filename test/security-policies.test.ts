/**
 * Security policies over HTTP: the org policy (defaults, replace, 422 with
 * field paths, regexes RE2 refuses, policies stored as data), project
 * overrides that may only tighten (422 listing the looser fields, nothing
 * stored), the effective policy, audit rows, roles (members read, managers
 * write), member project access (unassigned → 404) and tenancy (another
 * org → 404).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, createOrg, rows, team } from "./helpers/fixtures.js";

describe(`security policies API (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  const policy = (over: Record<string, unknown> = {}) => ({
    pii: { email: "redact", phone: "log", card: "block", ssn: "redact", iban: "mask", ip: "off", secret: "block" },
    promptInjection: { action: "log", threshold: 0.6 },
    rules: [
      { name: "codename", type: "keyword", pattern: "Project Falcon", action: "redact", category: "confidential" },
      { name: "ticket", type: "regex", pattern: "TICKET-[0-9]{4,8}", action: "log" },
    ],
    restoreRedactions: true,
    ...over,
  });

  beforeAll(async () => {
    t = await startTestApp();
    const x = await team(t, "Policy Co");
    ({ owner, admin, member, slug } = x);
    orgId = x.org.id;
    for (const p of ["prod", "staging"])
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: p, slug: p })).status).toBe(201);
    expect((await owner.put(`/api/v1/orgs/${slug}/projects/prod/members`, { userIds: [member.user!.id] })).status).toBe(
      200,
    );
  });
  afterAll(() => t.close());

  it("a new org has everything off until a policy is set; every role can read it", async () => {
    for (const c of [owner, admin, member]) {
      const res = await c.get(`/api/v1/orgs/${slug}/security-policy`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        pii: { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "off" },
        promptInjection: { action: "off" },
        rules: [],
        restoreRedactions: false,
      });
    }
    const project = await member.get(`/api/v1/orgs/${slug}/projects/prod/security-policy`);
    expect(project.body.effective.promptInjection).toEqual({ action: "off", threshold: 0.5 });
  });

  it("owners and admins replace the policy (defaults filled, audited); members cannot", async () => {
    const put = await admin.put(`/api/v1/orgs/${slug}/security-policy`, policy());
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual(policy());
    expect((await member.get(`/api/v1/orgs/${slug}/security-policy`)).body).toEqual(policy());

    const partial = await owner.put(`/api/v1/orgs/${slug}/security-policy`, { pii: { email: "mask" } });
    expect(partial.status).toBe(200);
    expect(partial.body.pii).toEqual({
      email: "mask",
      phone: "off",
      card: "off",
      ssn: "off",
      iban: "off",
      ip: "off",
      secret: "off",
    });
    expect(partial.body).toMatchObject({ promptInjection: { action: "off" }, rules: [], restoreRedactions: false });

    const denied = await member.put(`/api/v1/orgs/${slug}/security-policy`, policy());
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("FORBIDDEN");

    expect((await owner.put(`/api/v1/orgs/${slug}/security-policy`, policy())).status).toBe(200);
    const actions = await auditActions(t, orgId);
    expect(actions.filter((a) => a === "security_policy.updated")).toHaveLength(3);
    // The audit row names the rules but does not copy their patterns.
    const [row] = await rows<{ metadata: unknown }>(
      t,
      sql`select metadata from audit_log where org_id = ${orgId} and action = 'security_policy.updated' order by id desc limit 1`,
    );
    expect(JSON.stringify(row!.metadata)).toContain("codename");
    expect(JSON.stringify(row!.metadata)).not.toContain("Project Falcon");
  });

  it("refuses invalid policies with 422 INVALID_POLICY naming the field, and stores nothing", async () => {
    const before = (await owner.get(`/api/v1/orgs/${slug}/security-policy`)).body;
    const cases: Array<[unknown, string]> = [
      [{ pii: { email: "shred" } }, "pii.email"],
      [{ pii: { fax: "log" } }, "pii"],
      [{ promptInjection: { action: "redact" } }, "promptInjection.action"],
      [{ promptInjection: { action: "block", threshold: 2 } }, "promptInjection.threshold"],
      [{ rules: [{ name: "bad", type: "regex", pattern: "(a)\\1", action: "block" }] }, "rules.0.pattern"],
      [{ rules: [{ name: "empty", type: "regex", pattern: "x*", action: "block" }] }, "rules.0.pattern"],
      [
        {
          rules: [
            { name: "dup", type: "keyword", pattern: "a", action: "log" },
            { name: "DUP", type: "keyword", pattern: "b", action: "log" },
          ],
        },
        "rules.1.name",
      ],
      [{ surprise: true }, ""],
    ];
    for (const [body, path] of cases) {
      const res = await owner.put(`/api/v1/orgs/${slug}/security-policy`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("INVALID_POLICY");
      expect(
        res.body.error.details.map((d: { path: string }) => d.path),
        JSON.stringify(res.body),
      ).toContain(path);
    }
    expect((await owner.get(`/api/v1/orgs/${slug}/security-policy`)).body).toEqual(before);
  });

  it("stores template and code syntax in rules as plain data", async () => {
    const rules = [
      { name: "tpl", type: "keyword", pattern: "{{7*7}}", action: "log" },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection payload; the test proves it is stored as plain data
      { name: "js", type: "keyword", pattern: "${globalThis.__pwned = true}", action: "log" },
      { name: "bomb", type: "regex", pattern: "(a+)+$", action: "log" },
    ];
    const res = await owner.put(`/api/v1/orgs/${slug}/security-policy`, policy({ rules }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rules).toEqual(rules);
    expect((globalThis as { __pwned?: boolean }).__pwned).toBeUndefined();
    expect((await owner.put(`/api/v1/orgs/${slug}/security-policy`, policy())).status).toBe(200);
  });

  it("a project override tightens; GET shows {override, effective}", async () => {
    const empty = await member.get(`/api/v1/orgs/${slug}/projects/prod/security-policy`);
    expect(empty.status).toBe(200);
    expect(empty.body.override).toEqual({});
    expect(empty.body.effective.pii.email).toBe("redact");
    expect(empty.body.effective.rules.map((r: { name: string; source: string }) => [r.name, r.source])).toEqual([
      ["codename", "org"],
      ["ticket", "org"],
    ]);

    const override = {
      pii: { email: "block", ip: "mask" },
      promptInjection: { action: "block", threshold: 0.4 },
      rules: [
        { name: "no-prod-db", type: "keyword", pattern: "prod-db-01", action: "block" },
        { name: "tickets-strict", type: "regex", pattern: "TICKET-[0-9]{4,8}", action: "redact" },
      ],
      restoreRedactions: false,
    };
    const put = await admin.put(`/api/v1/orgs/${slug}/projects/prod/security-policy`, override);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.override).toEqual(override);
    const eff = put.body.effective;
    expect(eff.pii).toEqual({
      email: "block",
      phone: "log",
      card: "block",
      ssn: "redact",
      iban: "mask",
      ip: "mask",
      secret: "block",
    });
    expect(eff.promptInjection).toEqual({ action: "block", threshold: 0.4 });
    expect(eff.restoreRedactions).toBe(false);
    // The identical regex raises the org rule's action instead of adding a twin.
    expect(
      eff.rules.map((r: { name: string; action: string; source: string }) => [r.name, r.action, r.source]),
    ).toEqual([
      ["codename", "redact", "org"],
      ["ticket", "redact", "org"],
      ["no-prod-db", "block", "project"],
    ]);
    const got = await member.get(`/api/v1/orgs/${slug}/projects/prod/security-policy`);
    expect(got.body).toEqual(put.body);
    // Other projects are untouched.
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/staging/security-policy`)).body.effective.pii.email).toBe(
      "redact",
    );
    expect(await auditActions(t, orgId)).toContain("project_security_policy.updated");
  });

  it("refuses an override that loosens the org policy, listing each looser field, and keeps the old one", async () => {
    const before = (await owner.get(`/api/v1/orgs/${slug}/projects/prod/security-policy`)).body;
    const res = await owner.put(`/api/v1/orgs/${slug}/projects/prod/security-policy`, {
      pii: { email: "log", card: "redact", ssn: "block" },
      promptInjection: { action: "off", threshold: 0.9 },
      restoreRedactions: true,
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("POLICY_LOOSENS_ORG");
    expect(res.body.error.details.loosenings).toEqual([
      "pii.email",
      "pii.card",
      "promptInjection.action",
      "promptInjection.threshold",
    ]);
    expect(res.body.error.message).toContain("pii.email");
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/prod/security-policy`)).body).toEqual(before);

    // restoreRedactions: true is looser only when the org does not allow it.
    await owner.put(`/api/v1/orgs/${slug}/security-policy`, policy({ restoreRedactions: false }));
    const restore = await owner.put(`/api/v1/orgs/${slug}/projects/staging/security-policy`, {
      restoreRedactions: true,
    });
    expect(restore.status).toBe(422);
    expect(restore.body.error.details.loosenings).toEqual(["restoreRedactions"]);
    await owner.put(`/api/v1/orgs/${slug}/security-policy`, policy());

    const invalid = await owner.put(`/api/v1/orgs/${slug}/projects/prod/security-policy`, { pii: { email: "nope" } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe("INVALID_POLICY");
  });

  it("members read the override of assigned projects only and never change it", async () => {
    const unassigned = await member.get(`/api/v1/orgs/${slug}/projects/staging/security-policy`);
    expect(unassigned.status).toBe(404);
    expect(unassigned.body.error.code).toBe("PROJECT_NOT_FOUND");
    const write = await member.put(`/api/v1/orgs/${slug}/projects/prod/security-policy`, { pii: { email: "block" } });
    expect(write.status).toBe(403);
    const missing = await owner.get(`/api/v1/orgs/${slug}/projects/nope/security-policy`);
    expect(missing.status).toBe(404);
  });

  it("another organization's policies and projects answer 404", async () => {
    const other = await t.signUp();
    const otherOrg = await createOrg(other);
    expect((await other.put(`/api/v1/orgs/${otherOrg.slug}/security-policy`, { pii: { email: "off" } })).status).toBe(
      200,
    );
    for (const res of [
      await other.get(`/api/v1/orgs/${slug}/security-policy`),
      await other.put(`/api/v1/orgs/${slug}/security-policy`, { pii: { email: "off" } }),
      await other.get(`/api/v1/orgs/${slug}/projects/prod/security-policy`),
      await other.get(`/api/v1/orgs/${slug}/incidents`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("ORG_NOT_FOUND");
    }
    // Their project slug inside our org is just unknown.
    expect(
      (await other.post(`/api/v1/orgs/${otherOrg.slug}/projects`, { name: "Theirs", slug: "theirs" })).status,
    ).toBe(201);
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/theirs/security-policy`)).status).toBe(404);
    expect((await owner.get(`/api/v1/orgs/${slug}/incidents?project=theirs`)).status).toBe(404);
    // Our policy is unchanged by their writes.
    expect((await owner.get(`/api/v1/orgs/${slug}/security-policy`)).body.pii.email).toBe("redact");
  });

  it("documents the routes in the OpenAPI document", async () => {
    const doc = await t.anon.get("/api/openapi.json");
    const paths = Object.keys(doc.body.paths);
    for (const p of [
      "/api/v1/orgs/{org}/security-policy",
      "/api/v1/orgs/{org}/projects/{project}/security-policy",
      "/api/v1/orgs/{org}/incidents",
      "/api/v1/orgs/{org}/incidents/{id}/review",
    ])
      expect(paths).toContain(p);
    expect(doc.body.paths["/api/v1/orgs/{org}/security-policy"].put.requestBody).toBeDefined();
  });
});
