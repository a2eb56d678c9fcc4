/**
 * Sign-up inside the auth library: the policy gate, and the invited address.
 *
 *  - An account an SSO sign-in creates is allowed by its organization's
 *    verified domain, not by the instance's policy (sso.ts).
 *  - An account SCIM provisions is allowed by the organization whose token
 *    the identity provider presented (its owner enabled SCIM, as an invitation
 *    would); it starts unverified (scim.ts).
 *  - Before a user row is created, the sign-up policy is checked again (the
 *    sign-up route checks it first, to answer with its error code; this one
 *    holds for any other way an account could be created).
 *  - A sign-up that carries the token of the pending invitation for its
 *    address proves the address: the account is created verified. When the
 *    instance requires verification, the library then answers without a
 *    session (it assumes an unverified account); the after-hook starts the
 *    session for such a verified account, as an open sign-up would, so the
 *    invitee can accept at once.
 */
import { createAuthMiddleware } from "better-auth/api";
import { setSessionCookie } from "better-auth/cookies";
import type { SignUpGate } from "./signup-policy.js";
import { isScimRequest } from "./scim.js";
import { checkSsoNewAccount, type SsoHooks } from "./sso.js";

interface SignUpAnswer {
  token: string | null;
  user?: { id: string; emailVerified: boolean };
}

export function signUpHooks(gate: SignUpGate, sso: SsoHooks) {
  return {
    /**
     * `databaseHooks.user.create.before`: refuses what the policy refuses; marks an invited address verified.
     * An account created by an SSO sign-in is decided by its provider's organization instead (sso.ts): the
     * organization proved it owns the address's domain and its identity provider vouches for the person.
     */
    async beforeUserCreate(
      user: { email: string },
      ctx: { body?: unknown; path?: string; params?: unknown } | null | undefined,
    ) {
      if (await checkSsoNewAccount(sso, ctx, user.email)) return { data: { emailVerified: true } };
      if (isScimRequest(ctx)) return;
      await gate.check(user.email);
      const token = (ctx?.body as { invitationToken?: unknown } | undefined)?.invitationToken;
      if (typeof token === "string" && (await gate.verifiedByInvitation(user.email, token))) {
        return { data: { emailVerified: true } };
      }
    },

    /** `hooks.after` for /sign-up/email: a verified new account gets its session even when verification is required. */
    afterSignUp: createAuthMiddleware(async (ctx) => {
      if (ctx.path !== "/sign-up/email") return;
      const out = ctx.context.returned as SignUpAnswer | undefined;
      if (!out || out.token !== null || !out.user?.emailVerified) return;
      const user = await ctx.context.internalAdapter.findUserById(out.user.id);
      if (!user?.emailVerified) return;
      const session = await ctx.context.internalAdapter.createSession(user.id);
      await setSessionCookie(ctx, { session, user });
      return ctx.json({ ...out, token: session.token });
    }),
  };
}
