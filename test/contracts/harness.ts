/**
 * Contract suites: one suite of behaviour a caller relies on, run against
 * every implementation of an interface. An implementation is
 * `{name, make(), cleanup()}`; one that needs a service (Redis) names the
 * environment variable it needs and, when that is unset, its suite is listed
 * as skipped with the variable in its name, so a run without Redis says what
 * it did not check.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "vitest";
import { createRedisConnection, type RedisConnection } from "../../src/platform/redis.js";

export interface Implementation<T> {
  name: string;
  /** Without this environment variable the implementation's suite is skipped (and says so). */
  needs?: "TEST_REDIS_URL";
  make(): Promise<T> | T;
  cleanup(subject: T): Promise<void> | void;
  /**
   * Clauses of the contract this implementation is known to break, by clause id, with what it does
   * instead: those tests run as `it.fails`, so the suite stays green while the deviation stands and
   * goes red (to be moved out of this list) once it is fixed.
   */
  deviations?: Record<string, string>;
}

/** `describe.each` over the implementations that can run here; the others are listed as skipped. */
export function contract<T>(
  title: string,
  implementations: Array<Implementation<T>>,
  body: (impl: Implementation<T>) => void,
): void {
  const available = (i: Implementation<T>) => !i.needs || Boolean(process.env[i.needs]);
  const runnable = implementations.filter(available);
  const skipped = implementations
    .filter((i) => !available(i))
    .map((i) => ({ ...i, name: `${i.name} (needs ${i.needs}; skipped)` }));
  // Rows of [name, implementation]: `%s` prints the name whole (`$name` would quote and truncate it).
  const rows = (list: Array<Implementation<T>>) => list.map((i) => [i.name, i] as [string, Implementation<T>]);
  if (runnable.length > 0) describe.each(rows(runnable))(`${title}: %s`, (_name, impl) => body(impl));
  if (skipped.length > 0) describe.skip.each(rows(skipped))(`${title}: %s`, (_name, impl) => body(impl));
}

/** The test function for one clause: `it`, or `it.fails` where the implementation lists a deviation from it. */
export function clause<T>(impl: Implementation<T>, id: string): typeof it | typeof it.fails {
  return impl.deviations?.[id] ? it.fails : it;
}

/** A fresh subject for every test, cleaned up after it; returns its getter. */
export function fresh<T>(impl: Implementation<T>): () => T {
  let current: { subject: T } | null = null;
  beforeEach(async () => {
    current = { subject: await impl.make() };
  });
  afterEach(async () => {
    const c = current;
    current = null;
    if (c) await impl.cleanup(c.subject);
  });
  return () => {
    if (!current) throw new Error("no subject outside a test");
    return current.subject;
  };
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;

const silent = { warn: () => undefined, info: () => undefined, error: () => undefined };

/** Connections under one key prefix of their own (a test's private corner of the shared Redis). */
export function redisScope(url = TEST_REDIS_URL) {
  if (!url) throw new Error("TEST_REDIS_URL is not set");
  const prefix = `tgtest:contract:${randomBytes(4).toString("hex")}:`;
  const conns: RedisConnection[] = [];
  return {
    prefix,
    async connect(): Promise<RedisConnection> {
      const c = createRedisConnection({ url, prefix, log: silent });
      conns.push(c);
      if (!(await c.waitUntilReady(3_000))) throw new Error(`redis at ${url} is not reachable`);
      return c;
    },
    /** Deletes every key under the prefix and closes the connections. */
    async close(): Promise<void> {
      const first = conns[0];
      if (first?.isUp()) {
        const keys: string[] = [];
        let cursor = "0";
        do {
          const [next, batch] = await first.client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== "0");
        if (keys.length > 0) await first.client.del(...keys);
      }
      for (const c of conns) await c.close();
    },
  };
}

/** A connection to a port where nothing listens: Redis is down for as long as the test runs. */
export function unreachableRedis(): RedisConnection {
  return createRedisConnection({ url: "redis://127.0.0.1:1", prefix: "tgtest:down:", log: silent });
}
