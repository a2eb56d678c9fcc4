/**
 * Who calls a management route, as the auth guard (guard.ts) establishes it:
 * the signed-in actor, and on organization routes the organization context
 * (the caller's role, and the API token when one acts).
 */
import type { AssignableRole, Role } from "../permissions.js";

export interface Actor {
  userId: string;
  email: string;
  name: string;
  ip: string;
  /** The SSO connection this session was signed in through, if any (an organization may require its own). */
  viaSso?: string | null;
}

export interface OrgContext extends Actor {
  orgId: string;
  orgSlug: string;
  role: Role;
  /** Set when an organization API token acts (the audit trail names it as the actor). */
  token?: TokenActor;
}

export interface Membership {
  orgId: string;
  orgSlug: string;
  role: Role;
  /** The organization refuses members without two-factor authentication. */
  requireTwoFactor?: boolean;
  /** The organization requires its members (the owner excepted) to sign in through its identity provider. */
  requireSso?: boolean;
}

/** The token behind a request, on the org context (absent for cookie sessions). */
export interface TokenActor {
  id: string;
  name: string;
  /** The token's own role: the context's role is never above it. */
  role: AssignableRole;
  /** Project ids it is restricted to; null = none. */
  projectIds: readonly string[] | null;
  /** The creator's role in the organization: decides which projects the token reaches, never what it may do. */
  memberRole: Role;
}
