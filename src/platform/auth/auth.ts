/**
 * Accounts and sessions through better-auth: email + password (scrypt hashes
 * by the library), cookie sessions (HttpOnly, SameSite=Lax, Secure and
 * `__Secure-` prefixed when PUBLIC_URL is https). The library's own CSRF and
 * origin checks stay on; its in-memory rate limiter is off because it would not
 * hold across replicas: sign-in is throttled by `throttle.ts` in the database.
 * A password change or reset ends every other session of the user: whoever
 * held the old password (or a stolen cookie) is out once the owner changes it.
 */
import { betterAuth } from "better-auth";
import { createAuthMiddleware } from "better-auth/api";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import type { Config } from "../../config.js";
import type { Db } from "../db/db.js";
import { accounts, sessions, users, verifications } from "./auth.schema.js";

export const CLIENT_IP_HEADER = "x-tollgate-client-ip";

export interface AuthHooks {
  /** Called once after a user row is created (sign-up). */
  onUserCreated(user: { id: string; name: string; email: string }): Promise<void>;
}

export function createAuth(config: Config, db: Db, hooks: AuthHooks) {
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
      schema: { users, sessions, accounts, verifications },
    }),
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
      autoSignIn: true,
      revokeSessionsOnPasswordReset: true,
    },
    session: { expiresIn: 60 * 60 * 24 * 14, updateAge: 60 * 60 * 24 },
    rateLimit: { enabled: false },
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
          after: async (user) => {
            await hooks.onUserCreated({ id: user.id, name: user.name, email: user.email });
          },
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
