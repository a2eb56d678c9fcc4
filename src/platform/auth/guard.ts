/**
 * The auth guard. Every route declares `config.access`:
 *  - public: nobody is required;
 *  - user:   a signed-in session;
 *  - org:    a session + membership of the `:org` in the path + the declared
 *            capability from the permission table;
 *  - operator: a session of an instance operator (TOLLGATE_ADMIN_EMAILS);
 *            anyone else gets 404, as for a route that does not exist.
 * It runs before body validation, so a caller without the right learns nothing
 * about the body shape. Non-members (and unknown slugs) get 404, members
 * without the capability 403. In an organization that requires two-factor
 * authentication, a member whose account has none gets 403 TWO_FACTOR_REQUIRED
 * on every route of that organization until they enrol. When the instance
 * requires verified email addresses, a session of an unverified account (one
 * from before the requirement) gets 403 EMAIL_NOT_VERIFIED on org routes. In an
 * organization that requires single sign-on, a member other than the owner
 * (the way back in when the IdP fails) gets 403 SSO_REQUIRED unless the session
 * was signed in through that organization's identity provider.
 * On org routes, `Authorization: Bearer tg_org_…` authenticates instead of the
 * session: an organization API token, for its own organization only (any other
 * answers 404 as for non-members), with the rules of org-token.ts; a revoked,
 * expired or unknown token gets 401 with its own code.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { appError } from "../errors.js";
import type { RouteAccess } from "../http.js";
import { assertCan } from "../permissions.js";
import type { Auth } from "./auth.js";
import type { Actor, Membership, OrgContext } from "./context.js";
import { ssoSignInNeeded } from "./sso.js";
import { bearerOrgToken, type OrgTokenVerifier, TOKEN_FAILURE_CODES, withMemberRole } from "./org-token.js";

export type { Actor, Membership, OrgContext } from "./context.js";

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor | null;
    orgCtx: OrgContext | null;
  }
}

export function toWebHeaders(request: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(request.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else headers.set(k, String(v));
  }
  return headers;
}

export function installAuthGuard(
  app: FastifyInstance,
  deps: {
    auth: Auth;
    findMembership(orgSlug: string, userId: string): Promise<Membership | null>;
    /** Whether a signed-in user is an instance operator (the `operator` routes). */
    isOperator?(user: { email: string; emailVerified: boolean }): boolean;
    /** The instance requires a verified email: a session of an unverified account reaches no organization. */
    requireEmailVerification?: boolean;
    /** Organization API tokens (Bearer tg_org_…) on org routes. */
    tokens?: OrgTokenVerifier;
  },
): void {
  app.decorateRequest("actor", null);
  app.decorateRequest("orgCtx", null);

  // Public and API-key routes (the gateway) pass synchronously: no promise per request.
  app.addHook("preValidation", (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    if (!access || access.kind === "public" || access.kind === "apiKey") return done();
    if (access.kind === "operator") return void checkOperator(request).then(() => done(), done);
    const token = access.kind === "org" ? bearerOrgToken(request) : null;
    if (token && access.kind === "org") return void checkToken(request, token, access).then(() => done(), done);
    checkSession(request, access).then(() => done(), done);
  });

  /** Operator routes answer 404 to everyone else, signed in or not, as if they did not exist. */
  async function checkOperator(request: FastifyRequest) {
    const session = await deps.auth.api.getSession({ headers: toWebHeaders(request) });
    if (!session || !deps.isOperator?.(session.user))
      throw appError("ROUTE_NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}.`);
    request.actor = { userId: session.user.id, email: session.user.email, name: session.user.name, ip: request.ip };
  }

  async function checkSession(
    request: FastifyRequest,
    access: Exclude<RouteAccess, { kind: "public" | "apiKey" | "operator" }>,
  ) {
    const session = await deps.auth.api.getSession({ headers: toWebHeaders(request) });
    if (!session) throw appError("UNAUTHENTICATED");
    const actor: Actor = {
      userId: session.user.id,
      email: session.user.email,
      name: session.user.name,
      ip: request.ip,
      viaSso: (session.session as { ssoProviderId?: string | null }).ssoProviderId ?? null,
    };
    request.actor = actor;
    if (access.kind === "user") return;
    if (deps.requireEmailVerification && !session.user.emailVerified) throw appError("EMAIL_NOT_VERIFIED");
    const slug = orgSlugParam(request);
    const membership = await deps.findMembership(slug, actor.userId);
    if (!membership) throw appError("ORG_NOT_FOUND", `No organization "${slug}" among yours.`);
    const { requireTwoFactor, requireSso, ...member } = membership;
    if (requireTwoFactor && !session.user.twoFactorEnabled) throw appError("TWO_FACTOR_REQUIRED");
    if (ssoSignInNeeded({ requireSso, role: member.role, orgId: member.orgId }, actor)) throw appError("SSO_REQUIRED");
    const ctx: OrgContext = { ...actor, ...member };
    const [resource, action] = access.permission;
    assertCan(ctx, resource, action as never);
    request.orgCtx = ctx;
  }

  /** An organization API token: its org only, the lower of its role and its creator's, no danger zone. */
  async function checkToken(request: FastifyRequest, raw: string, access: Extract<RouteAccess, { kind: "org" }>) {
    if (!deps.tokens) throw appError("API_TOKEN_INVALID");
    const res = await deps.tokens.verify(raw);
    if (!res.ok) throw appError(TOKEN_FAILURE_CODES[res.reason]);
    const token = res.token;
    const slug = orgSlugParam(request);
    // The creator's membership of the org in the path: another org (or a creator gone) answers as for non-members.
    const m = await deps.findMembership(slug, token.creator.userId);
    if (!m || m.orgId !== token.orgId) throw appError("ORG_NOT_FOUND", `No organization "${slug}" for this token.`);
    const actor: Actor = { ...token.creator, ip: request.ip };
    const { id, name, role, projectIds } = token;
    const base: OrgContext = {
      ...actor,
      orgId: m.orgId,
      orgSlug: m.orgSlug,
      role: m.role,
      token: { id, name, role, projectIds, memberRole: m.role },
    };
    const ctx = withMemberRole(base, m.role);
    const [resource, action] = access.permission;
    assertCan(ctx, resource, action as never);
    request.actor = actor;
    request.orgCtx = ctx;
  }
}

function orgSlugParam(request: FastifyRequest): string {
  const slug = (request.params as Record<string, string | undefined>).org;
  if (!slug) throw appError("INTERNAL_ERROR", "Route declares org access without an :org parameter.");
  return slug;
}

/** The actor of a `user` or `org` route (the guard has run). */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw appError("UNAUTHENTICATED");
  return request.actor;
}

/** The org context of an `org` route (the guard has run). */
export function orgOf(request: FastifyRequest): OrgContext {
  if (!request.orgCtx) throw appError("UNAUTHENTICATED");
  return request.orgCtx;
}
