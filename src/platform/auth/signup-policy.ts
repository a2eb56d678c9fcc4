/**
 * The instance's sign-up policy (`TOLLGATE_SIGNUP`): `open` (anyone),
 * `invite-only` (only an address with a pending invitation) or
 * `domains:acme.com,acme.io` (only addresses at those domains, exact match).
 * Whatever the policy, the address of a pending invitation may always sign up
 * (an organization that invited someone can count on them getting in), and so
 * may the instance's first account and the operators' addresses
 * (TOLLGATE_ADMIN_EMAILS): someone has to be able to start inviting.
 *
 * Signing up with the invitation's token (from the link mailed to the address)
 * is proof of the address: that account starts out verified.
 *
 * Invitations live in a module above this layer; they are reached through
 * `InvitationLookup`, passed in by the app.
 */
import type { SignUpPolicy } from "../../config.js";
import type { Db } from "../db/db.js";
import { appError } from "../errors.js";
import { emailDomain } from "../routes.js";
import { users } from "./auth.schema.js";

export interface InvitationLookup {
  /**
   * Whether `email` has a pending, unexpired invitation; with `token`, whether
   * that token is the one of such an invitation for exactly this address.
   */
  isInvited(email: string, token?: string): Promise<boolean>;
}

export interface SignUpGateDeps {
  db: Db;
  invitations: InvitationLookup;
  /** Lower-cased addresses that may always sign up. */
  operatorEmails: readonly string[];
}

export function createSignUpGate(policy: SignUpPolicy, deps: SignUpGateDeps) {
  const { invitations } = deps;
  return {
    /**
     * Refuses a sign-up the policy does not allow, with SIGNUP_INVITE_ONLY or
     * SIGNUP_DOMAIN_NOT_ALLOWED. Runs before the account is created.
     */
    async check(email: string): Promise<void> {
      if (policy.kind === "open") return;
      if (policy.kind === "domains" && policy.domains.includes(emailDomain(email))) return;
      if (deps.operatorEmails.includes(email.trim().toLowerCase())) return;
      if (await invitations.isInvited(email)) return;
      if ((await deps.db.select({ id: users.id }).from(users).limit(1)).length === 0) return;
      if (policy.kind === "invite-only") throw appError("SIGNUP_INVITE_ONLY");
      throw appError(
        "SIGNUP_DOMAIN_NOT_ALLOWED",
        `Sign-up on this instance is limited to addresses at ${policy.domains.join(", ")}. Ask an organization admin to invite you.`,
      );
    },

    /** Whether a new account for `email` starts verified: it came with the token of its pending invitation. */
    async verifiedByInvitation(email: string, token: string | undefined): Promise<boolean> {
      if (!token) return false;
      return invitations.isInvited(email, token);
    },
  };
}

export type SignUpGate = ReturnType<typeof createSignUpGate>;
