/**
 * State shared by replicas, chosen once at start from the configuration: the
 * Redis connection and the cache-invalidation bus.
 *  - without REDIS_URL: no connection and the in-process bus (caches long on
 *    embedded PGlite, capped at 1 s on a shared PostgreSQL) — exactly the
 *    single-process behaviour;
 *  - with REDIS_URL: the connection and the Redis bus, with its documented
 *    fallback while Redis is unreachable (docs/scaling.md).
 * Start-up waits up to 2 s for Redis and then goes on either way: a replica
 * that boots while Redis is down serves in degraded mode and picks Redis up
 * when it returns. The stores built on the connection (the gateway's rate
 * limits and credit holds) are created by their owners from `redis`
 * (src/gateway-stores.ts).
 */
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Database } from "./db/db.js";
import {
  type CacheInvalidationBus,
  createLocalInvalidationBus,
  createRedisInvalidationBus,
  type RedisInvalidationBus,
} from "./invalidation-bus.js";
import { createRedisConnection, type RedisConnection } from "./redis.js";

export interface SharedState {
  /** The Redis connection, for the shared stores built on it; null without REDIS_URL. */
  redis: RedisConnection | null;
  bus: CacheInvalidationBus;
  /** For /readyz: `redis` and `cacheInvalidation` (nothing without REDIS_URL). */
  details(): { redis?: string; cacheInvalidation?: string };
  redisUp(): boolean | null;
  busUp(): boolean | null;
  close(): Promise<void>;
}

export async function createSharedState(opts: {
  config: Config;
  database: Database;
  log: Logger;
}): Promise<SharedState> {
  const { config, database, log } = opts;
  if (!config.redisUrl) {
    const bus = createLocalInvalidationBus({ singleProcess: database.kind === "pglite" });
    return {
      redis: null,
      bus,
      details: () => ({}),
      redisUp: () => null,
      busUp: () => null,
      close: () => bus.close(),
    };
  }

  const redis = createRedisConnection({ url: config.redisUrl, prefix: config.redis.prefix, log });
  const ready = await redis.waitUntilReady(2_000);
  if (!ready)
    log.warn(
      { status: redis.health().status },
      "redis is not reachable at start; running degraded until it is (see docs/scaling.md)",
    );
  const bus: RedisInvalidationBus = createRedisInvalidationBus({ redis, log });
  return {
    redis,
    bus,
    details: () => ({
      redis: redis.isUp() ? "up" : "down",
      cacheInvalidation: bus.healthy() ? "shared" : "fallback-ttl",
    }),
    redisUp: () => redis.isUp(),
    busUp: () => bus.healthy(),
    async close() {
      await bus.close();
      await redis.close();
    },
  };
}
