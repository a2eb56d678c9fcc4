/**
 * Sign-in throttle: failed attempts are counted per email and per client IP in
 * fixed windows, in the database so every replica sees the same counts. Only
 * failures count (an office behind one NAT can still sign in); a success clears
 * the email's counter.
 */
import { inArray, sql } from "drizzle-orm";
import type { Db } from "../db/db.js";
import { authThrottle } from "./auth.schema.js";

export interface ThrottleLimits {
  maxFailuresPerEmail: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

export function createLoginThrottle(db: Db, limits: ThrottleLimits) {
  const keysFor = (email: string, ip: string) => ({ email: `email:${email.trim().toLowerCase()}`, ip: `ip:${ip}` });

  return {
    /** Seconds to wait when either counter is exhausted, else null. */
    async blockedFor(email: string, ip: string): Promise<number | null> {
      const k = keysFor(email, ip);
      const rows = await db.select().from(authThrottle).where(inArray(authThrottle.key, [k.email, k.ip]));
      const now = Date.now();
      let wait: number | null = null;
      for (const row of rows) {
        const max = row.key === k.email ? limits.maxFailuresPerEmail : limits.maxFailuresPerIp;
        const ends = row.windowStart.getTime() + limits.windowSeconds * 1000;
        if (ends > now && row.failures >= max) wait = Math.max(wait ?? 0, Math.ceil((ends - now) / 1000));
      }
      return wait;
    },

    async recordFailure(email: string, ip: string): Promise<void> {
      const k = keysFor(email, ip);
      const windowStart = sql`now() - make_interval(secs => ${limits.windowSeconds})`;
      await db
        .insert(authThrottle)
        .values([{ key: k.email, failures: 1 }, { key: k.ip, failures: 1 }])
        .onConflictDoUpdate({
          target: authThrottle.key,
          set: {
            failures: sql`case when ${authThrottle.windowStart} < ${windowStart} then 1 else ${authThrottle.failures} + 1 end`,
            windowStart: sql`case when ${authThrottle.windowStart} < ${windowStart} then now() else ${authThrottle.windowStart} end`,
          },
        });
    },

    async recordSuccess(email: string): Promise<void> {
      const k = keysFor(email, "");
      await db.delete(authThrottle).where(inArray(authThrottle.key, [k.email]));
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
