/**
 * What the response cache's suites share: the stores they run against (the
 * database always; Redis with TEST_REDIS_URL, under a prefix of their own),
 * the policy that redacts e-mail addresses, and a read of what the store
 * keeps (the database store writes in batches behind its in-process layer,
 * so the read waits up to 2 s for the first entries).
 */
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import type { TestApp } from "./app.js";
import { TEST_REDIS_URL } from "./database.js";
import { rows } from "./fixtures.js";

export interface CacheVariant {
  name: string;
  env: Record<string, string>;
}

/** Each suite's stores: `describe.each(cacheVariants())`. */
export function cacheVariants(): CacheVariant[] {
  return [
    { name: "database", env: {} },
    ...(TEST_REDIS_URL
      ? [
          {
            name: "redis",
            env: { REDIS_URL: TEST_REDIS_URL, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` },
          },
        ]
      : []),
  ];
}

/** The organization policy the suites set: e-mail addresses redacted, cards and secrets blocked. */
export const REDACT_EMAILS = {
  pii: { email: "redact", phone: "off", card: "block", ssn: "off", iban: "off", ip: "off", secret: "block" },
  promptInjection: { action: "off", threshold: 0.5 },
  rules: [],
  restoreRedactions: false,
};

/** A reader of the entries the variant's store keeps, as text (close it after the suite). */
export function cacheReader(t: () => TestApp, env: CacheVariant["env"]) {
  const redis = env.REDIS_URL ? new Redis(env.REDIS_URL) : null;
  const read = async (): Promise<string[]> =>
    redis
      ? await Promise.all(
          (await redis.keys(`${env.TOLLGATE_REDIS_PREFIX}cache:*`)).map(async (k) => (await redis.get(k)) ?? ""),
        )
      : (await rows<{ entry: unknown }>(t(), sql`select entry from response_cache`)).map((r) =>
          JSON.stringify(r.entry),
        );
  return {
    async kept(): Promise<string[]> {
      let stored = await read();
      for (let i = 0; i < 100 && stored.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        stored = await read();
      }
      return stored;
    },
    close: () => redis?.disconnect(),
  };
}
