/**
 * State shared by replicas, chosen once at start from the configuration:
 *  - without REDIS_URL: the in-process cache-invalidation bus (caches long on
 *    embedded PGlite, capped at 1 s on a shared PostgreSQL) and in-process
 *    rate-limit counters — exactly the single-process behaviour;
 *  - with REDIS_URL: the Redis invalidation bus and Redis rate limits, with
 *    their documented fallbacks while Redis is unreachable (docs/scaling.md).
 * Start-up waits up to 2 s for Redis and then goes on either way: a replica
 * that boots while Redis is down serves in degraded mode and picks Redis up
 * when it returns.
 */
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { createFailoverRateLimitStore, type FailoverRateLimitStore } from "../gateway/ratelimit/redis-store.js";
import {
  type CacheInvalidationBus,
  createLocalInvalidationBus,
  createRedisInvalidationBus,
  type RedisInvalidationBus,
} from "../modules/keys/invalidation-bus.js";
import type { Database } from "./db/db.js";
import { createRedisConnection, type RedisConnection } from "./redis.js";

export interface SharedState {
  /** The Redis connection, for other shared stores (credit reservations); null without REDIS_URL. */
  redis: RedisConnection | null;
  bus: CacheInvalidationBus;
  /** Undefined: the gateway's in-process store. */
  rateLimits: FailoverRateLimitStore | undefined;
  /** For /readyz. */
  details(): Record<string, string>;
  redisUp(): boolean | null;
  busUp(): boolean | null;
  rateLimitMode(): "global" | "local" | "closed";
  close(): Promise<void>;
}

export async function createSharedState(opts: {
  config: Config;
  database: Database;
  log: Logger;
  onRateLimitFallback(): void;
}): Promise<SharedState> {
  const { config, database, log } = opts;
  if (!config.redisUrl) {
    const bus = createLocalInvalidationBus({ singleProcess: database.kind === "pglite" });
    return {
      redis: null,
      bus,
      rateLimits: undefined,
      details: () => ({}),
      redisUp: () => null,
      busUp: () => null,
      rateLimitMode: () => "local",
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
  let lastWarning = 0;
  const rateLimits = createFailoverRateLimitStore({
    redis,
    onFailure: config.redis.rateLimitFailure,
    events: {
      onFallback(err) {
        opts.onRateLimitFallback();
        if (Date.now() - lastWarning > 30_000) {
          lastWarning = Date.now();
          log.warn(
            { err: (err as Error)?.message, mode: config.redis.rateLimitFailure },
            config.redis.rateLimitFailure === "closed"
              ? "redis unreachable: rate-limited requests are refused with 503 (TOLLGATE_RATE_LIMIT_REDIS_FAILURE=closed)"
              : "redis unreachable: rate limits are counted per replica until it returns (TOLLGATE_RATE_LIMIT_REDIS_FAILURE=local)",
          );
        }
      },
    },
  });
  return {
    redis,
    bus,
    rateLimits,
    details: () => ({
      redis: redis.isUp() ? "up" : "down",
      rateLimits:
        redis.isUp() && rateLimits.mode() === "global"
          ? "global"
          : config.redis.rateLimitFailure === "closed"
            ? "closed (redis unreachable)"
            : "local (redis unreachable)",
      cacheInvalidation: bus.healthy() ? "shared" : "fallback-ttl",
      // Credit holds (billing): shared in Redis, or what priced requests get while it is unreachable.
      creditHolds: redis.isUp()
        ? "shared"
        : config.redis.billingFailure === "closed"
          ? "closed (redis unreachable)"
          : "open (redis unreachable)",
    }),
    redisUp: () => redis.isUp(),
    busUp: () => bus.healthy(),
    rateLimitMode: () => (redis.isUp() && rateLimits.mode() === "global" ? "global" : config.redis.rateLimitFailure),
    async close() {
      await bus.close();
      await redis.close();
    },
  };
}
