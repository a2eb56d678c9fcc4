/**
 * The gateway's stores that replicas share through Redis, built at start on
 * the platform's shared state (platform/shared-state.ts: the connection and
 * the invalidation bus):
 *  - rate limits: Redis sliding windows with the configured fallback while
 *    Redis is unreachable (per-replica counters, or 503); without REDIS_URL
 *    the gateway's in-process store;
 *  - credit holds: holds, project caps and the debit queue in Redis
 *    (gateway/metering/redis-store.ts), else in this process (store.ts);
 *  - the response cache: in Redis (every replica serves the same answers),
 *    else in the database;
 *  - what /readyz and /metrics say about them.
 */
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { ResponseCacheStore } from "./gateway/cache/cache.js";
import { withMemoryLayer } from "./gateway/cache/memory-layer.js";
import { createRedisResponseCache } from "./gateway/cache/redis-cache.js";
import { createRedisReservationStore } from "./gateway/metering/redis-store.js";
import { createMemoryStore, type ReservationStore } from "./gateway/metering/store.js";
import { createFailoverRateLimitStore, type FailoverRateLimitStore } from "./gateway/ratelimit/redis-store.js";
import type { StoreFactory } from "./modules/billing/billing.gateway.js";
import { accountTotals, balanceOf } from "./modules/billing/billing.repo.js";
import { createDbResponseCache } from "./modules/cache/cache.store.js";
import { newId } from "./platform/crypto.js";
import type { Db } from "./platform/db/db.js";
import type { SharedState } from "./platform/shared-state.js";

export interface GatewayStores {
  /** Undefined: the gateway's in-process store. */
  rateLimits: FailoverRateLimitStore | undefined;
  /** The credit store for metering: in-process, or the Redis one (built by metering with its batch writer). */
  credits: ReservationStore | StoreFactory;
  responseCache: ResponseCacheStore;
  rateLimitMode(): "global" | "local" | "closed";
  /** For /readyz: the shared state's details with the rate-limit and credit-hold modes. */
  details(): Record<string, string>;
}

export function createGatewayStores(opts: {
  config: Config;
  db: Db;
  shared: SharedState;
  log: Logger;
  onRateLimitFallback(): void;
}): GatewayStores {
  const { config, db, shared, log } = opts;
  const redis = shared.redis;
  let lastCacheWarning = 0;
  const onCacheError = (err: unknown) => {
    if (Date.now() - lastCacheWarning < 30_000) return;
    lastCacheWarning = Date.now();
    log.warn({ err: (err as Error)?.message }, "response cache unavailable: requests go to the provider");
  };
  if (!redis) {
    return {
      rateLimits: undefined,
      credits: createMemoryStore({ loadBalance: (orgId) => balanceOf(db, orgId), credits: config.billing.credits }),
      responseCache: withMemoryLayer(createDbResponseCache(db, onCacheError)),
      rateLimitMode: () => "local",
      details: () => ({ ...shared.details() }),
    };
  }

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
  const rateLimitsGlobal = () => redis.isUp() && rateLimits.mode() === "global";
  return {
    rateLimits,
    responseCache: withMemoryLayer(createRedisResponseCache(redis, onCacheError)),
    credits: (writeBatch) =>
      createRedisReservationStore({
        redis,
        loadAccount: (orgId) => accountTotals(db, orgId),
        writeBatch,
        failure: config.redis.billingFailure,
        credits: config.billing.credits,
        onError: (err, what) => log.warn({ err: (err as Error)?.message }, what),
        newId,
      }),
    rateLimitMode: () => (rateLimitsGlobal() ? "global" : config.redis.rateLimitFailure),
    details: () => {
      const { redis: connection, cacheInvalidation } = shared.details();
      return {
        redis: connection ?? "down",
        rateLimits: rateLimitsGlobal()
          ? "global"
          : config.redis.rateLimitFailure === "closed"
            ? "closed (redis unreachable)"
            : "local (redis unreachable)",
        cacheInvalidation: cacheInvalidation ?? "fallback-ttl",
        // Credit holds (billing): shared in Redis, or what priced requests get while it is unreachable.
        creditHolds: redis.isUp()
          ? "shared"
          : config.redis.billingFailure === "closed"
            ? "closed (redis unreachable)"
            : "open (redis unreachable)",
      };
    },
  };
}
