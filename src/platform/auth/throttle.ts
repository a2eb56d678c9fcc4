/**
 * Sign-in throttle: failed attempts are counted per email and per client IP in
 * fixed windows, in the database so every replica sees the same counts. Only
 * failures count (an office behind one NAT can still sign in); a success clears
 * the email's counter.
 *
 * An attempt is counted *before* the password is checked, in one atomic upsert
 * per key, and refunded when it turns out not to be a failure. Checking the
 * counters first and counting afterwards would let N parallel guesses all pass
 * the check before any of them is counted.
 *
 * Mail requests (password reset links, verification mails) go through
 * `createRequestThrottle`: every request counts, per email and per IP, so
 * nobody can flood an address or the mail server; the answer does not depend
 * on whether an account exists for the email.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/db.js";
import { appError, retryAfter } from "../errors.js";
import { authThrottle } from "./auth.schema.js";

export interface ThrottleLimits {
  maxFailuresPerEmail: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

/** Adds one to a key's counter in one statement (a fresh window starts at 1); returns the row. */
async function bump(db: Db, key: string, windowSeconds: number) {
  const windowStart = sql`now() - make_interval(secs => ${windowSeconds})`;
  const [row] = await db
    .insert(authThrottle)
    .values({ key, failures: 1 })
    .onConflictDoUpdate({
      target: authThrottle.key,
      set: {
        failures: sql`case when ${authThrottle.windowStart} < ${windowStart} then 1 else ${authThrottle.failures} + 1 end`,
        windowStart: sql`case when ${authThrottle.windowStart} < ${windowStart} then now() else ${authThrottle.windowStart} end`,
      },
    })
    .returning();
  return row!;
}

/**
 * Counts one attempt on each key; returns seconds to wait when a counter is now over its limit, else null.
 * Each statement touches one row, so concurrent attempts and refunds can never deadlock on lock order.
 */
async function countAll(db: Db, keys: Array<{ key: string; max: number }>, windowSeconds: number) {
  const rows = [];
  for (const { key, max } of keys) rows.push({ row: await bump(db, key, windowSeconds), max });
  const now = Date.now();
  let wait: number | null = null;
  for (const { row, max } of rows) {
    if (row.failures > max) {
      const ends = row.windowStart.getTime() + windowSeconds * 1000;
      wait = Math.max(wait ?? 0, Math.ceil((ends - now) / 1000), 1);
    }
  }
  return wait;
}

export function createLoginThrottle(db: Db, limits: ThrottleLimits) {
  const keysFor = (email: string, ip: string) => ({ email: `email:${email.trim().toLowerCase()}`, ip: `ip:${ip}` });

  function count(email: string, ip: string): Promise<number | null> {
    const k = keysFor(email, ip);
    return countAll(
      db,
      [
        { key: k.email, max: limits.maxFailuresPerEmail },
        { key: k.ip, max: limits.maxFailuresPerIp },
      ],
      limits.windowSeconds,
    );
  }

  async function refund(keys: string[]): Promise<void> {
    for (const key of keys) {
      await db
        .update(authThrottle)
        .set({ failures: sql`greatest(${authThrottle.failures} - 1, 0)` })
        .where(eq(authThrottle.key, key));
    }
  }

  return {
    /**
     * Runs one sign-in attempt under the throttle. `check` verifies the
     * credentials and returns a response whose status decides: 401 counts as a
     * failure, 200 clears the email's counter, anything else is not counted.
     * The counters are settled before this returns, so before the caller
     * answers the client. Throws 429 TOO_MANY_ATTEMPTS (with Retry-After)
     * without calling `check` when the email or the IP is over its limit.
     */
    async attempt<T extends { status: number }>(email: string, ip: string, check: () => Promise<T>): Promise<T> {
      const k = keysFor(email, ip);
      const wait = await count(email, ip);
      if (wait !== null) {
        await refund([k.email, k.ip]);
        throw appError(
          "TOO_MANY_ATTEMPTS",
          `Too many failed sign-in attempts. Try again in ${wait} seconds.`,
          undefined,
          retryAfter(wait),
        );
      }
      let status = 500;
      try {
        const result = await check();
        status = result.status;
        return result;
      } finally {
        if (status === 200) {
          await db.delete(authThrottle).where(eq(authThrottle.key, k.email));
          await refund([k.ip]);
        } else if (status !== 401) {
          await refund([k.email, k.ip]);
        }
      }
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

export interface RequestLimits {
  maxPerEmail: number;
  maxPerIp: number;
  windowSeconds: number;
}

/**
 * Counts every request of one kind (`purpose`, e.g. "reset") per email and per
 * IP; throws 429 TOO_MANY_ATTEMPTS (with Retry-After) once either is over its
 * limit in the window. The count is kept whether or not the email has an
 * account, so the answer tells nothing about that.
 */
export function createRequestThrottle(db: Db, limits: RequestLimits) {
  return {
    async take(purpose: string, email: string, ip: string): Promise<void> {
      const wait = await countAll(
        db,
        [
          { key: `${purpose}:email:${email.trim().toLowerCase()}`, max: limits.maxPerEmail },
          { key: `${purpose}:ip:${ip}`, max: limits.maxPerIp },
        ],
        limits.windowSeconds,
      );
      if (wait !== null) {
        throw appError(
          "TOO_MANY_ATTEMPTS",
          `Too many requests. Try again in ${wait} seconds.`,
          undefined,
          retryAfter(wait),
        );
      }
    },
  };
}

export type RequestThrottle = ReturnType<typeof createRequestThrottle>;
