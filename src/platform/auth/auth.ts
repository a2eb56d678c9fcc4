/**
 * Accounts and sessions through better-auth: email + password (scrypt hashes
 * by the library), cookie sessions (HttpOnly, SameSite=Lax, Secure and
 * `__Secure-` prefixed when PUBLIC_URL is https). The library's own CSRF and
 * origin checks stay on; its in-memory rate limiter is off because it would not
 * hold across replicas: sign-in is throttled by `throttle.ts` in the database.
 * A password change or reset ends every other session of the user: whoever
 * held the old password (or a stolen cookie) is out once the owner changes it.
 * Two-factor authentication is the library's `twoFactor` plugin (TOTP under
 * the issuer "Tollgate", backup codes): an enrolled user's password sign-in
 * answers `twoFactorRedirect` and the session starts only after a code.
 * Password reset and email verification mail, and the sign-up policy, are
 * wired in from `account-mail.ts` and `signup-hooks.ts`; single sign-on from
 * `sso.ts` (its OIDC client secrets sealed at rest by `sealed-adapter.ts`,
 * the tokens of linked accounts encrypted by the library); SCIM provisioning
 * from `scim.ts`. The adapter runs the library's multi-step writes in real
 * transactions (the SSO and SCIM plugins require them); Tollgate code the
 * library calls inside one writes through it (`auth-transaction.ts`).
 */
import { betterAuth } from "better-auth";
import { createAuthMiddleware } from "better-auth/api";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { twoFactor } from "better-auth/plugins/two-factor";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Db } from "../db/db.js";
import type { Mailer } from "../mail.js";
import { accountMailOptions } from "./account-mail.js";
import { trackAuthTransactions } from "./auth-transaction.js";
import type { PgTable } from "drizzle-orm/pg-core";
import type { SecretBox } from "../secretbox.js";
import { accounts, sessions, twoFactors, users, verifications } from "./auth.schema.js";
import { sealSsoSecrets } from "./sealed-adapter.js";
import { signUpHooks } from "./signup-hooks.js";
import type { SignUpGate } from "./signup-policy.js";
import { checkScimEmailChange, type ScimHooks, scimPlugin } from "./scim.js";
import { SSO_MANAGEMENT_PATHS, type SsoHooks, ssoPlugin, ssoProviderOf } from "./sso.js";

export const CLIENT_IP_HEADER = "x-tollgate-client-ip";

export interface AuthHooks {
  /** Called once after a user row is created (sign-up). */
  onUserCreated(user: { id: string; name: string; email: string }): Promise<void>;
}

/** What account mail and the sign-up policy need. */
export interface AccountDeps {
  mailer: Mailer;
  log: Logger;
  signUpGate: SignUpGate;
  sso: SsoHooks;
  /** The SSO plugin's table (`ssoProvider`): it belongs to the organizations' SSO module. */
  ssoProviderTable: PgTable;
  secretBox: SecretBox;
  /** Origins of identity providers on private networks the SSO plugin may reach. */
  ssoTrustedOrigins: readonly string[];
  scim: ScimHooks;
  /** The SCIM plugin's tables by model name: they belong to the SCIM module. */
  scimTables: Record<string, PgTable>;
}

export function createAuth(config: Config, db: Db, hooks: AuthHooks, deps: AccountDeps) {
  const mail = accountMailOptions({
    db,
    mailer: deps.mailer,
    log: deps.log,
    publicUrl: config.publicUrl,
    requireEmailVerification: config.accounts.requireEmailVerification,
  });
  const signUp = signUpHooks(deps.signUpGate, deps.sso);
  return betterAuth({
    appName: "Tollgate",
    baseURL: config.publicUrl,
    basePath: "/api/auth",
    secret: config.secret,
    trustedOrigins: [config.publicUrl, ...deps.ssoTrustedOrigins],
    telemetry: { enabled: false },
    database: sealSsoSecrets(
      drizzleAdapter(trackAuthTransactions(db), {
        provider: "pg",
        usePlural: true,
        transaction: true,
        schema: {
          users,
          sessions,
          accounts,
          verifications,
          twoFactors,
          ssoProviders: deps.ssoProviderTable,
          ...deps.scimTables,
        },
      }),
      deps.secretBox,
    ),
    account: { encryptOAuthTokens: true },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
      autoSignIn: true,
      revokeSessionsOnPasswordReset: true,
      ...mail.emailAndPassword,
    },
    emailVerification: mail.emailVerification,
    verification: mail.verification,
    rateLimit: { enabled: false },
    session: {
      expiresIn: 60 * 60 * 24 * 14,
      updateAge: 60 * 60 * 24,
      additionalFields: { ssoProviderId: { type: "string", required: false, input: false } },
    },
    plugins: [twoFactor({ issuer: "Tollgate" }), ssoPlugin(deps.sso), scimPlugin(deps.scim)],
    // The profile changes only through PATCH /api/v1/me, which validates it; the
    // library's own update endpoint would accept any name and image unchecked.
    // SSO connections are managed by the organization's owner through /api/v1/orgs/{org}/sso.
    disabledPaths: ["/update-user", ...SSO_MANAGEMENT_PATHS],
    hooks: {
      // The library revokes other sessions only when the client asks; the server decides here, so an
      // old client (or a hand-written request) cannot keep a stolen session alive. The caller's own
      // session is replaced by a fresh one in the response's cookie.
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== "/change-password") return;
        return { context: { body: { ...(ctx.body as object | undefined), revokeOtherSessions: true } } };
      }),
      after: signUp.afterSignUp,
    },
    advanced: {
      cookiePrefix: "tollgate",
      useSecureCookies: config.publicUrl.startsWith("https://"),
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax" },
      // The bridge sets this header from Fastify's trusted view of the client
      // address and drops any value the client sent.
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    databaseHooks: {
      user: {
        create: {
          before: signUp.beforeUserCreate,
          after: async (user) => {
            await hooks.onUserCreated({ id: user.id, name: user.name, email: user.email });
          },
        },
        // A SCIM update may not move an account's address outside the organization's verified domains.
        update: { before: (data, ctx) => checkScimEmailChange(deps.scim, ctx, data) },
      },
      session: {
        create: {
          // A session started by an SSO callback remembers the provider (an organization may require it).
          before: async (session, ctx) => {
            const ssoProviderId = ssoProviderOf(ctx);
            return ssoProviderId ? { data: { ...session, ssoProviderId } } : undefined;
          },
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
