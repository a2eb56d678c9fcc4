/**
 * The role × endpoint matrix, generated from the server's route table.
 *
 * - Every route must declare its access (public / user / org + capability);
 *   a route without a rule fails this suite.
 * - Every route must appear in EXPECTED, the role table of docs/organizations.md written
 *   out per endpoint; a new route without an entry fails this suite.
 * - For each org route, every identity is tried: anonymous (401), a member of
 *   another organization (404, never 403), and owner / admin / member (allowed
 *   where EXPECTED says so, 403 otherwise). "Allowed" means the request got past
 *   the permission check: requests carry ids of nothing and bodies that fail
 *   validation, so the check is made without side effects.
 * - Routes under a project (`:project`) are tried with a real project: the
 *   member is assigned to it, and a second member who is not assigned must get
 *   404 PROJECT_NOT_FOUND wherever members are allowed (403 where they are not).
 * - Organization API tokens (admin and member, minted by the owner) are tried
 *   on every org route with no cookie: allowed exactly where their role is,
 *   except billing management and the danger zone (403 API_TOKEN_FORBIDDEN
 *   whatever the role); another organization's token gets 404 ORG_NOT_FOUND;
 *   on account routes a token is no credential (401).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { can, type Role, tokenMay } from "../src/platform/permissions.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { personalSlug } from "./helpers/fixtures.js";

type Expect = "public" | "user" | "apiKey" | "operator" | readonly Role[];
/** The instance operator of this file's app (TOLLGATE_ADMIN_EMAILS). */
const MATRIX_OPERATOR = "matrix-operator@example.com";
const ALL: readonly Role[] = ["owner", "admin", "member"];
const MANAGERS: readonly Role[] = ["owner", "admin"];
const OWNER: readonly Role[] = ["owner"];

/** The role table (docs/organizations.md), one line per endpoint. */
const EXPECTED: Record<string, Expect> = {
  "GET /healthz": "public",
  "GET /readyz": "public",
  // Prometheus scrape endpoint; optionally guarded by TOLLGATE_METRICS_TOKEN (test/metrics.test.ts).
  "GET /metrics": "public",
  "GET /api/openapi.json": "public",
  "GET /*": "public",
  "POST /api/auth/sign-up/email": "public",
  "POST /api/auth/sign-in/email": "public",
  "POST /api/auth/sign-out": "public",
  "POST /api/auth/request-password-reset": "public",
  "POST /api/auth/reset-password": "public",
  "POST /api/auth/send-verification-email": "public",
  "POST /api/auth/sso/saml2/sp/acs/:providerId": "public",
  "GET /api/auth/*": "public",
  "POST /api/auth/*": "public",
  // SCIM, for identity providers: the plugin authenticates with the organization's SCIM token (scim.md).
  "GET /api/auth/scim/v2/*": "public",
  "POST /api/auth/scim/v2/*": "public",
  "PUT /api/auth/scim/v2/*": "public",
  "PATCH /api/auth/scim/v2/*": "public",
  "DELETE /api/auth/scim/v2/*": "public",
  "GET /api/v1/me": "user",
  "GET /api/v1/provider-presets": "user",
  "PATCH /api/v1/me": "user",
  "GET /api/v1/orgs": "user",
  "POST /api/v1/orgs": "user",
  "GET /api/v1/orgs/:org": ALL,
  "PATCH /api/v1/orgs/:org": MANAGERS,
  "DELETE /api/v1/orgs/:org": OWNER,
  "POST /api/v1/orgs/:org/transfer": OWNER,
  "PUT /api/v1/orgs/:org/two-factor-requirement": OWNER,
  "GET /api/v1/orgs/:org/members": ALL,
  "PATCH /api/v1/orgs/:org/members/:userId": OWNER,
  "DELETE /api/v1/orgs/:org/members/:userId": OWNER,
  "POST /api/v1/orgs/:org/leave": ALL,
  "GET /api/v1/orgs/:org/onboarding": ALL,
  "POST /api/v1/orgs/:org/onboarding/dismiss": ALL,
  "GET /api/v1/orgs/:org/invitations": MANAGERS,
  "POST /api/v1/orgs/:org/invitations": MANAGERS,
  "DELETE /api/v1/orgs/:org/invitations/:id": MANAGERS,
  "POST /api/v1/orgs/:org/invitations/:id/resend": MANAGERS,
  "GET /api/v1/invitations/:token": "public",
  "POST /api/v1/invitations/:token/accept": "user",
  "POST /api/v1/invitations/:token/decline": "user",
  "GET /api/v1/orgs/:org/audit-log": MANAGERS,
  "GET /api/v1/orgs/:org/status": ALL,
  // The operator console: 404 to everyone but the instance operators.
  "GET /api/v1/admin/orgs": "operator",
  "POST /api/v1/admin/orgs/:org/credits": "operator",
  "POST /api/v1/admin/orgs/:org/disable": "operator",
  "POST /api/v1/admin/orgs/:org/enable": "operator",
  "GET /api/v1/admin/health": "operator",
  "GET /api/v1/orgs/:org/api-tokens": MANAGERS,
  "POST /api/v1/orgs/:org/api-tokens": MANAGERS,
  "DELETE /api/v1/orgs/:org/api-tokens/:tokenId": MANAGERS,
  "GET /api/v1/orgs/:org/sso": MANAGERS,
  "PUT /api/v1/orgs/:org/sso": OWNER,
  "DELETE /api/v1/orgs/:org/sso": OWNER,
  "POST /api/v1/orgs/:org/sso/domains/:domain/verify": OWNER,
  "GET /api/v1/orgs/:org/scim": MANAGERS,
  "POST /api/v1/orgs/:org/scim/token": OWNER,
  "DELETE /api/v1/orgs/:org/scim": OWNER,
  "GET /api/v1/orgs/:org/billing": MANAGERS,
  "GET /api/v1/orgs/:org/billing/transactions": MANAGERS,
  "GET /api/v1/orgs/:org/billing/usage": MANAGERS,
  "GET /api/v1/orgs/:org/billing/checkout": MANAGERS,
  "POST /api/v1/orgs/:org/billing/checkout": OWNER,
  "GET /api/v1/orgs/:org/billing/payment-methods": MANAGERS,
  "POST /api/v1/orgs/:org/billing/payment-methods/setup": OWNER,
  "DELETE /api/v1/orgs/:org/billing/payment-methods/:id": OWNER,
  "POST /api/v1/orgs/:org/billing/payment-methods/:id/default": OWNER,
  "GET /api/v1/orgs/:org/billing/auto-topup": MANAGERS,
  "PUT /api/v1/orgs/:org/billing/auto-topup": OWNER,
  "POST /api/v1/webhooks/stripe": "public",
  "GET /api/v1/orgs/:org/billing/alerts": MANAGERS,
  "PUT /api/v1/orgs/:org/billing/alerts": OWNER,
  "POST /api/v1/orgs/:org/billing/alerts/test": OWNER,
  "PUT /api/v1/orgs/:org/billing/alerts/subscription": MANAGERS,
  "DELETE /api/v1/orgs/:org/billing/alerts/subscription": MANAGERS,
  "GET /api/v1/orgs/:org/log-destinations": MANAGERS,
  "POST /api/v1/orgs/:org/log-destinations": MANAGERS,
  "GET /api/v1/orgs/:org/log-destinations/:id": MANAGERS,
  "PATCH /api/v1/orgs/:org/log-destinations/:id": MANAGERS,
  "DELETE /api/v1/orgs/:org/log-destinations/:id": MANAGERS,
  "GET /api/v1/orgs/:org/projects": ALL,
  "POST /api/v1/orgs/:org/projects": MANAGERS,
  "GET /api/v1/orgs/:org/projects/:project": ALL,
  "PATCH /api/v1/orgs/:org/projects/:project": MANAGERS,
  "DELETE /api/v1/orgs/:org/projects/:project": MANAGERS,
  "GET /api/v1/orgs/:org/projects/:project/members": MANAGERS,
  "PUT /api/v1/orgs/:org/projects/:project/members": MANAGERS,
  "GET /api/v1/orgs/:org/projects/:project/keys": ALL,
  "POST /api/v1/orgs/:org/projects/:project/keys": ALL,
  "GET /api/v1/orgs/:org/projects/:project/keys/:keyId": ALL,
  "PATCH /api/v1/orgs/:org/projects/:project/keys/:keyId": ALL,
  "DELETE /api/v1/orgs/:org/projects/:project/keys/:keyId": ALL,
  "POST /api/v1/orgs/:org/projects/:project/playground/chat/completions": ALL,
  "GET /api/v1/orgs/:org/projects/:project/playground/models": ALL,
  "GET /api/v1/orgs/:org/projects/:project/logs": ALL,
  "GET /api/v1/orgs/:org/projects/:project/logs/export": ALL,
  "GET /api/v1/orgs/:org/projects/:project/logs/:requestId": ALL,
  "GET /api/v1/orgs/:org/projects/:project/usage": ALL,
  "GET /api/v1/orgs/:org/providers": MANAGERS,
  "POST /api/v1/orgs/:org/providers": MANAGERS,
  "GET /api/v1/orgs/:org/providers/:provider": MANAGERS,
  "PATCH /api/v1/orgs/:org/providers/:provider": MANAGERS,
  "DELETE /api/v1/orgs/:org/providers/:provider": MANAGERS,
  "POST /api/v1/orgs/:org/providers/:provider/test": MANAGERS,
  "POST /api/v1/orgs/:org/providers/:provider/discover": MANAGERS,
  "GET /api/v1/orgs/:org/virtual-models": ALL,
  "POST /api/v1/orgs/:org/virtual-models": MANAGERS,
  "GET /api/v1/orgs/:org/virtual-models/:name": ALL,
  "PATCH /api/v1/orgs/:org/virtual-models/:name": MANAGERS,
  "DELETE /api/v1/orgs/:org/virtual-models/:name": MANAGERS,
  "GET /api/v1/orgs/:org/security-policy": ALL,
  "PUT /api/v1/orgs/:org/security-policy": MANAGERS,
  "GET /api/v1/orgs/:org/projects/:project/security-policy": ALL,
  "PUT /api/v1/orgs/:org/projects/:project/security-policy": MANAGERS,
  "GET /api/v1/orgs/:org/incidents": MANAGERS,
  "GET /api/v1/orgs/:org/incidents/:id": MANAGERS,
  "POST /api/v1/orgs/:org/incidents/:id/review": MANAGERS,
  "POST /v1/chat/completions": "apiKey",
  "POST /v1/messages": "apiKey",
  "POST /v1/embeddings": "apiKey",
  "GET /v1/models": "apiKey",
  "GET /v1/models/*": "apiKey",
  "POST /v1/responses": "apiKey",
  "GET /v1/responses/:id": "apiKey",
  "DELETE /v1/responses/:id": "apiKey",
  "GET /v1/responses/:id/input_items": "apiKey",
  "POST /v1/messages/count_tokens": "apiKey",
  "POST /v1/images/generations": "apiKey",
  "POST /v1/audio/transcriptions": "apiKey",
  "POST /v1/audio/speech": "apiKey",
  "POST /v1/moderations": "apiKey",
  // Every other /v1/ path: 404 unknown_url (405 on a known path), whoever asks.
  "GET /v1/*": "public",
  "POST /v1/*": "public",
  "PUT /v1/*": "public",
  "PATCH /v1/*": "public",
  "DELETE /v1/*": "public",
  "HEAD /v1/*": "public",
  "OPTIONS /v1/*": "public",
};

/** Routes whose allowed call changes state even with empty input: checked last, in role order owner → member. */
const SIDE_EFFECT_LAST = new Set(["POST /api/v1/orgs/:org/leave"]);

interface World {
  slug: string;
  /** A project of the org; `member` is assigned to it, `unassigned` (also a member) is not. */
  project: string;
  users: Record<Role | "outsider" | "unassigned", Client>;
  anon: Client;
  /** A live key of the project, for the gateway routes. */
  apiKey: string;
  /** Organization API tokens of the org, minted by the owner, and one of the outsider's own org. */
  tokens: Record<"admin" | "member" | "outsider", string>;
}

/** A value for each path parameter: the org under test, or ids of things that do not exist. */
function paramValue(name: string, w: World): string {
  switch (name) {
    case "org":
      return w.slug;
    case "project":
      return w.project;
    case "keyId":
    case "tokenId":
      return randomUUID();
    case "userId":
      return `nobody-${randomUUID()}`;
    case "id":
      return randomUUID();
    case "token":
      return "t".repeat(43);
    case "requestId":
      return randomUUID();
    case "provider":
      return "no-such-provider";
    case "name":
      return "no-such-virtual-model";
    case "domain":
      return "no-such-domain.test";
    case "providerId":
      return "no-such-sso-provider";
    default:
      throw new Error(`permissions matrix: no fixture for path parameter :${name} — add one to paramValue()`);
  }
}

function fillPath(url: string, w: World): string {
  return url
    .replace(/:([A-Za-z]+)/g, (_m, name: string) => encodeURIComponent(paramValue(name, w)))
    .replace("*", "get-session");
}

async function call(client: Client, method: string, url: string, headers: Record<string, string> = {}) {
  // Bodies fail validation on purpose (unknown key on strict schemas): allowed calls stop there.
  return method === "GET"
    ? client.get(url, headers)
    : client.request(method as "POST", url, { __matrix__: true }, headers);
}

describe(`role × endpoint matrix (${storageKind})`, () => {
  let t: TestApp;
  let w: World;
  let operator: Client;

  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_ADMIN_EMAILS: MATRIX_OPERATOR } });
    operator = await t.signUp({ name: "Operator", email: MATRIX_OPERATOR });
    const owner = await t.signUp({ name: "Owner" });
    const admin = await t.signUp({ name: "Admin" });
    const member = await t.signUp({ name: "Member" });
    const outsider = await t.signUp({ name: "Outsider" });
    const unassigned = await t.signUp({ name: "Unassigned" });
    const org = await owner.post("/api/v1/orgs", { name: "Matrix Org" });
    expect(org.status).toBe(201);
    // Membership rows written directly keep this file fast; the invitation flow has its own suite.
    const { members } = await import("../src/schema.js");
    await t.db.insert(members).values([
      { id: randomUUID(), orgId: org.body.id, userId: admin.user!.id, role: "admin" },
      { id: randomUUID(), orgId: org.body.id, userId: member.user!.id, role: "member" },
      { id: randomUUID(), orgId: org.body.id, userId: unassigned.user!.id, role: "member" },
    ]);
    const project = await owner.post(`/api/v1/orgs/${org.body.slug}/projects`, {
      name: "Matrix Project",
      slug: "matrix-project",
    });
    expect(project.status).toBe(201);
    const assigned = await owner.put(`/api/v1/orgs/${org.body.slug}/projects/matrix-project/members`, {
      userIds: [member.user!.id],
    });
    expect(assigned.status).toBe(200);
    const key = await owner.post(`/api/v1/orgs/${org.body.slug}/projects/matrix-project/keys`, {
      name: "matrix",
      environment: "live",
    });
    expect(key.status).toBe(201);
    const mint = async (by: Client, slug: string, role: "admin" | "member") => {
      const res = await by.post(`/api/v1/orgs/${slug}/api-tokens`, { name: `matrix ${role}`, role });
      expect(res.status).toBe(201);
      return res.body.token as string;
    };
    w = {
      slug: org.body.slug,
      project: "matrix-project",
      users: { owner, admin, member, outsider, unassigned },
      anon: t.anon,
      apiKey: key.body.key,
      tokens: {
        admin: await mint(owner, org.body.slug, "admin"),
        member: await mint(owner, org.body.slug, "member"),
        outsider: await mint(outsider, await personalSlug(outsider), "admin"),
      },
    };
  });
  afterAll(() => t.close());

  it("every route declares its access and is listed in the expected table", () => {
    const routes = t.app.routes.filter((r) => !r.url.startsWith("/api/docs"));
    const undeclared = routes.filter((r) => !r.access).map((r) => `${r.method} ${r.url}`);
    expect(undeclared, "routes without config.access").toEqual([]);
    const unlisted = routes.map((r) => `${r.method} ${r.url}`).filter((k) => !(k in EXPECTED));
    expect(unlisted, "routes missing from EXPECTED in this file").toEqual([]);
  });

  it("declared access matches the role table", () => {
    for (const r of t.app.routes) {
      const key = `${r.method} ${r.url}`;
      const exp = EXPECTED[key];
      if (!exp || !r.access) continue;
      if (exp === "public" || exp === "user" || exp === "apiKey" || exp === "operator") {
        expect(r.access.kind, key).toBe(exp);
        continue;
      }
      expect(r.access.kind, key).toBe("org");
      if (r.access.kind !== "org") continue;
      const [resource, action] = r.access.permission;
      const allowed = ALL.filter((role) => can(role, resource, action as never));
      expect(allowed, key).toEqual([...exp]);
    }
  });

  it("enforces it over HTTP for every identity", async () => {
    const routes = t.app.routes
      .filter((r) => !r.url.startsWith("/api/docs") && EXPECTED[`${r.method} ${r.url}`])
      .sort(
        (a, b) =>
          Number(SIDE_EFFECT_LAST.has(`${a.method} ${a.url}`)) - Number(SIDE_EFFECT_LAST.has(`${b.method} ${b.url}`)),
      );
    const failures: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) failures.push(what);
    };
    for (const r of routes) {
      const key = `${r.method} ${r.url}`;
      const exp = EXPECTED[key]!;
      if (exp === "public") {
        const res = await call(w.anon, r.method, fillPath(r.url, w));
        check(res.status !== 401 && res.status !== 403, `${key} anon → ${res.status} (public route)`);
        continue;
      }
      if (exp === "operator") {
        // Everyone but the operator (anonymous, any role, an org token) gets 404, as for no route at all.
        for (const who of [w.anon, ...Object.values(w.users)]) {
          const res = await call(who, r.method, fillPath(r.url, w));
          check(
            res.status === 404 && res.body?.error?.code === "ROUTE_NOT_FOUND",
            `${key} non-operator → ${res.status}`,
          );
        }
        const tok = await call(w.anon, r.method, fillPath(r.url, w), { authorization: `Bearer ${w.tokens.admin}` });
        check(tok.status === 404, `${key} org token → ${tok.status}, expected 404`);
        const op = await call(operator, r.method, fillPath(r.url, w));
        check(![401, 403, 404].includes(op.status), `${key} operator → ${op.status}, expected allowed`);
        continue;
      }
      const anon = await call(w.anon, r.method, fillPath(r.url, w));
      check(anon.status === 401, `${key} anon → ${anon.status}, expected 401`);
      if (exp === "apiKey") {
        // Gateway routes: a session cookie is not a credential; a project key is.
        const cookie = await call(w.users.owner, r.method, fillPath(r.url, w));
        check(cookie.status === 401, `${key} session cookie only → ${cookie.status}, expected 401`);
        const keyed = await call(w.anon, r.method, fillPath(r.url, w), { authorization: `Bearer ${w.apiKey}` });
        check(keyed.status !== 401 && keyed.status !== 403, `${key} project key → ${keyed.status}, expected allowed`);
        continue;
      }
      if (exp === "user") {
        const res = await call(w.users.member, r.method, fillPath(r.url, w));
        check(res.status !== 401 && res.status !== 403, `${key} signed-in → ${res.status}`);
        const tok = await call(w.anon, r.method, fillPath(r.url, w), { authorization: `Bearer ${w.tokens.admin}` });
        check(tok.status === 401, `${key} org token only → ${tok.status}, expected 401`);
        continue;
      }
      const out = await call(w.users.outsider, r.method, fillPath(r.url, w));
      check(
        out.status === 404 && out.body?.error?.code === "ORG_NOT_FOUND",
        `${key} outsider → ${out.status} ${out.body?.error?.code}, expected 404 ORG_NOT_FOUND`,
      );
      for (const role of ALL) {
        const res = await call(w.users[role], r.method, fillPath(r.url, w));
        const code = res.body?.error?.code;
        if (exp.includes(role)) {
          check(
            ![401, 403].includes(res.status) && code !== "ORG_NOT_FOUND" && code !== "PROJECT_NOT_FOUND",
            `${key} ${role} → ${res.status} ${code}, expected allowed`,
          );
        } else {
          check(
            res.status === 403 && code === "FORBIDDEN",
            `${key} ${role} → ${res.status} ${code}, expected 403 FORBIDDEN`,
          );
        }
      }
      const foreign = await call(w.anon, r.method, fillPath(r.url, w), {
        authorization: `Bearer ${w.tokens.outsider}`,
      });
      check(
        foreign.status === 404 && foreign.body?.error?.code === "ORG_NOT_FOUND",
        `${key} another org's token → ${foreign.status} ${foreign.body?.error?.code}, expected 404 ORG_NOT_FOUND`,
      );
      const tokenAllowed =
        r.access?.kind !== "org" || tokenMay(r.access.permission[0], r.access.permission[1] as never);
      for (const role of ["admin", "member"] as const) {
        const res = await call(w.anon, r.method, fillPath(r.url, w), { authorization: `Bearer ${w.tokens[role]}` });
        const code = res.body?.error?.code;
        const what = `${key} ${role} token → ${res.status} ${code}`;
        if (!tokenAllowed) check(res.status === 403 && code === "API_TOKEN_FORBIDDEN", what);
        else if (exp.includes(role))
          check(![401, 403].includes(res.status) && code !== "ORG_NOT_FOUND" && code !== "PROJECT_NOT_FOUND", what);
        else check(res.status === 403 && code === "FORBIDDEN", `${what}, expected 403 FORBIDDEN`);
      }
      if (r.url.includes(":project")) {
        const res = await call(w.users.unassigned, r.method, fillPath(r.url, w));
        const code = res.body?.error?.code;
        if (exp.includes("member")) {
          check(
            res.status === 404 && code === "PROJECT_NOT_FOUND",
            `${key} unassigned member → ${res.status} ${code}, expected 404 PROJECT_NOT_FOUND`,
          );
        } else {
          check(
            res.status === 403 && code === "FORBIDDEN",
            `${key} unassigned member → ${res.status} ${code}, expected 403 FORBIDDEN`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
