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
 * wired in from `account-mail.ts` and `signup-hooks.ts`.
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
import { accounts, sessions, twoFactors, users, verifications } from "./auth.schema.js";
import { signUpHooks } from "./signup-hooks.js";
import type { SignUpGate } from "./signup-policy.js";

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
}

export function createAuth(config: Config, db: Db, hooks: AuthHooks, deps: AccountDeps) {
  const mail = accountMailOptions({
    db,
    mailer: deps.mailer,
    log: deps.log,
    publicUrl: config.publicUrl,
    requireEmailVerification: config.accounts.requireEmailVerification,
  });
  const signUp = signUpHooks(deps.signUpGate);
  return betterAuth({
    appName: "Tollgate",
    baseURL: config.publicUrl,
    basePath: "/api/auth",
    secret: config.secret,
    trustedOrigins: [config.publicUrl],
    telemetry: { enabled: false },
    database: drizzleAdapter(db, {
      provider: "pg",
      usePlural: true,
      schema: { users, sessions, accounts, verifications, twoFactors },
    }),
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
    session: { expiresIn: 60 * 60 * 24 * 14, updateAge: 60 * 60 * 24 },
    rateLimit: { enabled: false },
    plugins: [twoFactor({ issuer: "Tollgate" })],
    // The profile changes only through PATCH /api/v1/me, which validates it; the
    // library's own update endpoint would accept any name and image unchecked.
    disabledPaths: ["/update-user"],
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
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
