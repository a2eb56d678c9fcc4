/**
 * Organization API tokens as the auth guard sees them: `Authorization: Bearer
 * tg_org_…` on `/api/v1/orgs/{org}/…` routes. Invariants:
 *  - a request carrying such a header is authenticated by the token alone
 *    (cookies are ignored), so the CSRF rule for cookie sessions does not
 *    apply to it (platform/http.ts);
 *  - a token acts for its creator (records it creates name them) with the lower
 *    of its own role and its creator's current role, re-read wherever a
 *    membership is re-read (`withMemberRole`); the permission table refuses
 *    tokens billing management and the danger zone (`tokenMay`);
 *  - it reaches the projects its creator reaches, narrowed to its own project
 *    list when it has one (`reachRole`, `tokenReaches`).
 * The verifier (cache, revocation through the invalidation bus, last-used
 * times) lives in the api-tokens module and is handed to the guard by app.ts.
 */
import type { FastifyRequest } from "fastify";
import { type AssignableRole, lowerRole, type Role } from "../permissions.js";
import type { OrgContext } from "./context.js";

const ORG_TOKEN_PREFIX = "tg_org_";

export interface VerifiedOrgToken {
  id: string;
  orgId: string;
  name: string;
  role: AssignableRole;
  projectIds: readonly string[] | null;
  creator: { userId: string; email: string; name: string };
}

export type OrgTokenResult =
  | { ok: true; token: VerifiedOrgToken }
  | { ok: false; reason: "invalid" | "revoked" | "expired" };

export interface OrgTokenVerifier {
  verify(raw: string): Promise<OrgTokenResult>;
}

export const TOKEN_FAILURE_CODES = {
  invalid: "API_TOKEN_INVALID",
  revoked: "API_TOKEN_REVOKED",
  expired: "API_TOKEN_EXPIRED",
} as const;

/** The `tg_org_…` bearer token of a request, or null (any other credential, or none). */
export function bearerOrgToken(request: Pick<FastifyRequest, "headers">): string | null {
  const h = request.headers.authorization;
  if (typeof h !== "string" || !/^bearer /i.test(h)) return null;
  const raw = h.slice(7).trim();
  return raw.startsWith(ORG_TOKEN_PREFIX) ? raw : null;
}

/** The context once the caller's membership role was (re-)read: a token stays capped by its own role. */
export function withMemberRole(ctx: OrgContext, memberRole: Role): OrgContext {
  if (!ctx.token) return { ...ctx, role: memberRole };
  return { ...ctx, role: lowerRole(memberRole, ctx.token.role), token: { ...ctx.token, memberRole } };
}

/** The role that decides which projects the caller reaches (a token: its creator's). */
export const reachRole = (ctx: OrgContext): Role => ctx.token?.memberRole ?? ctx.role;

/** False when the caller is a token restricted to other projects. */
export const tokenReaches = (ctx: OrgContext, projectId: string): boolean =>
  !ctx.token?.projectIds || ctx.token.projectIds.includes(projectId);
