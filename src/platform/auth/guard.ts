/**
 * The auth guard. Every route declares `config.access`:
 *  - public: nobody is required;
 *  - user:   a signed-in session;
 *  - org:    a session + membership of the `:org` in the path + the declared
 *            capability from the permission table.
 * It runs before body validation, so a caller without the right learns nothing
 * about the body shape. Non-members (and unknown slugs) get 404, members
 * without the capability 403.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { appError } from "../errors.js";
import type { RouteAccess } from "../http.js";
import { assertCan, type Role } from "../permissions.js";
import type { Auth } from "./auth.js";

export interface Actor {
  userId: string;
  email: string;
  name: string;
  ip: string;
}

export interface OrgContext extends Actor {
  orgId: string;
  orgSlug: string;
  role: Role;
}

export interface Membership {
  orgId: string;
  orgSlug: string;
  role: Role;
}

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
  deps: { auth: Auth; findMembership(orgSlug: string, userId: string): Promise<Membership | null> },
): void {
  app.decorateRequest("actor", null);
  app.decorateRequest("orgCtx", null);

  // Public and API-key routes (the gateway) pass synchronously: no promise per request.
  app.addHook("preValidation", (request, _reply, done) => {
    const access = request.routeOptions.config.access;
    if (!access || access.kind === "public" || access.kind === "apiKey") return done();
    checkSession(request, access).then(() => done(), done);
  });

  async function checkSession(request: FastifyRequest, access: Exclude<RouteAccess, { kind: "public" | "apiKey" }>) {
    const session = await deps.auth.api.getSession({ headers: toWebHeaders(request) });
    if (!session) throw appError("UNAUTHENTICATED");
    const actor: Actor = {
      userId: session.user.id,
      email: session.user.email,
      name: session.user.name,
      ip: request.ip,
    };
    request.actor = actor;
    if (access.kind === "user") return;
    const slug = (request.params as Record<string, string | undefined>).org;
    if (!slug) throw appError("INTERNAL_ERROR", "Route declares org access without an :org parameter.");
    const membership = await deps.findMembership(slug, actor.userId);
    if (!membership) throw appError("ORG_NOT_FOUND", `No organization "${slug}" among yours.`);
    const ctx: OrgContext = { ...actor, ...membership };
    const [resource, action] = access.permission;
    assertCan(ctx, resource, action as never);
    request.orgCtx = ctx;
  }
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
