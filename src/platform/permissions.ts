/**
 * The one permission table: resource × action → roles allowed (the role table of docs/organizations.md).
 * `assertCan` is the only place a role is compared with a capability. Routes
 * declare the capability they need (checked by the org guard before the body is
 * read); services call `assertCan` again for data-dependent rules. A caller who
 * is not a member of the organization never reaches this check: the guard
 * answers 404 first, so other tenants learn nothing.
 */
import { appError } from "./errors.js";

/** The organization roles, highest first: the one definition (the members table's column enum uses it too). */
export const ROLES = ["owner", "admin", "member"] as const;
export type Role = (typeof ROLES)[number];
/** The roles an invitation or a role change can give; ownership moves only by transfer. */
export const ASSIGNABLE_ROLES = ["admin", "member"] as const satisfies readonly Role[];
export type AssignableRole = (typeof ASSIGNABLE_ROLES)[number];

const ALL: readonly Role[] = ROLES;
const MANAGERS: readonly Role[] = ["owner", "admin"];
const OWNER: readonly Role[] = ["owner"];

export const PERMISSIONS = {
  org: { read: ALL, update: MANAGERS, delete: OWNER, transfer: OWNER, requireTwoFactor: OWNER },
  member: { read: ALL, changeRole: OWNER, remove: OWNER, leave: ALL },
  invitation: { read: MANAGERS, create: MANAGERS, revoke: MANAGERS, resend: MANAGERS },
  project: {
    read: ALL,
    create: MANAGERS,
    update: MANAGERS,
    delete: MANAGERS,
    assignMembers: MANAGERS,
    accessAll: MANAGERS,
  },
  key: { read: ALL, create: ALL, revokeOwn: ALL, revokeAny: MANAGERS },
  logs: { read: ALL },
  provider: { read: MANAGERS, manage: MANAGERS },
  virtualModel: { read: ALL, manage: MANAGERS },
  policy: { read: ALL, manage: MANAGERS },
  incident: { read: MANAGERS, review: MANAGERS },
  billing: { read: MANAGERS, manage: OWNER },
  audit: { read: MANAGERS },
  apiToken: { read: MANAGERS, create: MANAGERS, createAdmin: OWNER, revoke: MANAGERS },
  sso: { read: MANAGERS, manage: OWNER },
  scim: { read: MANAGERS, manage: OWNER },
  logDestination: { read: MANAGERS, manage: MANAGERS },
  playground: { use: ALL },
  onboarding: { dismiss: ALL },
} as const satisfies Record<string, Record<string, readonly Role[]>>;

export type Resource = keyof typeof PERMISSIONS;
export type Action<R extends Resource> = keyof (typeof PERMISSIONS)[R] & string;
export type Capability = { [R in Resource]: [R, Action<R>] }[Resource];

export function can<R extends Resource>(role: Role, resource: R, action: Action<R>): boolean {
  const allowed = (PERMISSIONS[resource] as Record<string, readonly Role[]>)[action];
  return allowed?.includes(role) === true;
}

/**
 * What an organization API token never does, whatever its role: billing
 * management and the danger zone (deleting or transferring the organization,
 * changing or removing members, leaving, minting tokens, single sign-on and
 * provisioning settings), nor the playground (a person's tool: programs use API keys) or hiding the
 * get-started checklist (a person's choice). A person does these.
 */
const NOT_FOR_TOKENS: ReadonlySet<string> = new Set([
  "billing.manage",
  "org.delete",
  "org.transfer",
  "org.requireTwoFactor",
  "member.changeRole",
  "member.remove",
  "member.leave",
  "apiToken.create",
  "apiToken.createAdmin",
  "sso.manage",
  "scim.manage",
  "playground.use",
  "onboarding.dismiss",
]);

export function tokenMay<R extends Resource>(resource: R, action: Action<R>): boolean {
  return !NOT_FOR_TOKENS.has(`${resource}.${action}`);
}

/** Whether `actor` may do it: what `assertCan` checks, as an answer (what a page offers, not a guard). */
export function allows<R extends Resource>(
  actor: { role: Role; token?: object | null },
  resource: R,
  action: Action<R>,
): boolean {
  return (!actor.token || tokenMay(resource, action)) && can(actor.role, resource, action);
}

/** `token` is set when an organization API token acts: it never gets what `tokenMay` refuses. */
export function assertCan<R extends Resource>(
  actor: { role: Role; token?: object | null },
  resource: R,
  action: Action<R>,
): void {
  if (actor.token && !tokenMay(resource, action)) {
    throw appError(
      "API_TOKEN_FORBIDDEN",
      `API tokens cannot do this (${resource}.${action}): a signed-in ${rolesFor(resource, action).join(" or ")} must.`,
    );
  }
  if (!can(actor.role, resource, action)) {
    throw appError(
      "FORBIDDEN",
      `Your role (${actor.role}) does not allow this: ${resource}.${action} needs ${rolesFor(resource, action).join(" or ")}.`,
    );
  }
}

export function rolesFor<R extends Resource>(resource: R, action: Action<R>): readonly Role[] {
  return (PERMISSIONS[resource] as Record<string, readonly Role[]>)[action] ?? [];
}

const RANK: Record<Role, number> = { member: 1, admin: 2, owner: 3 };
/** Nobody grants more than they hold: a role may hand out roles up to its own rank. */
export function canGrant(granter: Role, granted: Role): boolean {
  return RANK[granter] >= RANK[granted];
}

/** The lower of two roles (a token acts with its own role or its creator's, whichever is lower). */
export const lowerRole = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b);
