/**
 * Rate limits shared by every replica (REDIS_URL): the same sliding window as
 * the in-process store (ratelimit.ts `decide`/`roll`), kept in one Redis hash
 * per limit ({start, current, previous}) and updated by a Lua script, so the
 * check and the add are one atomic step however many replicas ask at once.
 *
 * Time comes from the Redis server (TIME) unless the caller passes `now`: the
 * replicas' clocks may disagree, the window boundaries must not.
 *
 * Redis unreachable: `createFailoverRateLimitStore` answers from the
 * in-process store instead (each replica then enforces the limit on its own
 * traffic: up to N× the limit over N replicas), or refuses with 503 when
 * configured to fail closed. Either way it is logged, counted, and shown by
 * /readyz; the next call after Redis is back uses Redis again.
 */
import type { RedisConnection } from "../../platform/redis.js";
import { unavailable } from "../errors.js";
import {
  createMemoryRateLimitStore,
  type RateLimitDecision,
  type RateLimitRule,
  type RateLimitStore,
} from "./ratelimit.js";

/** Shared prelude: reads the hash, takes the time, rolls the window (mirrors `roll`). */
const ROLL = `
local win = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local start = now - (now % win)
local h = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s = tonumber(h[1])
local cur = tonumber(h[2]) or 0
local prev = tonumber(h[3]) or 0
if s == nil then
  cur = 0
  prev = 0
elseif s ~= start then
  if s == start - win then prev = cur else prev = 0 end
  cur = 0
end
`;

/** KEYS[1] = window hash; ARGV = cost, windowMs, now|-1, limit. Returns {allowed, remaining, resetMs, retryAfterMs}. Mirrors `decide`. */
const HIT = `${ROLL}
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[4])
local elapsed = now - start
local weight = (win - elapsed) / win
if weight < 0 then weight = 0 end
local used = prev * weight + cur
local resetMs = win - elapsed
if resetMs < 0 then resetMs = 0 end
if used + cost <= limit then
  cur = cur + cost
  redis.call('HSET', KEYS[1], 's', start, 'c', cur, 'p', prev)
  redis.call('PEXPIRE', KEYS[1], win * 2)
  local remaining = math.floor(limit - used - cost)
  if remaining < 0 then remaining = 0 end
  return {1, remaining, resetMs, 0}
end
redis.call('HSET', KEYS[1], 's', start, 'c', cur, 'p', prev)
redis.call('PEXPIRE', KEYS[1], win * 2)
local retry = resetMs
if prev > 0 and cur + cost <= limit then
  local needWeight = (limit - cur - cost) / prev
  retry = math.ceil(win - needWeight * win - elapsed)
  if retry < 1 then retry = 1 end
elseif cur > 0 and cur + cost > limit and cost <= limit then
  local needWeight = (limit - cost) / cur
  retry = resetMs + math.ceil(win - needWeight * win)
end
if retry < 1 then retry = 1 end
local remaining = math.floor(limit - used)
if remaining < 0 then remaining = 0 end
return {0, remaining, resetMs, retry}
`;

/** KEYS[1] = window hash; ARGV = delta, windowMs, now|-1. Adds without a check (never below zero). */
const ADJUST = `${ROLL}
cur = cur + tonumber(ARGV[1])
if cur < 0 then cur = 0 end
redis.call('HSET', KEYS[1], 's', start, 'c', cur, 'p', prev)
redis.call('PEXPIRE', KEYS[1], win * 2)
return 1
`;

type Scripted = {
  tollgateRateHit(
    key: string,
    cost: number,
    windowMs: number,
    now: number,
    limit: number,
  ): Promise<[number, number, number, number]>;
  tollgateRateAdjust(key: string, delta: number, windowMs: number, now: number): Promise<number>;
};

export function createRedisRateLimitStore(redis: RedisConnection): RateLimitStore {
  const client = redis.client as unknown as Scripted & typeof redis.client;
  // defineCommand sends EVALSHA and falls back to EVAL when the server does not know the script yet.
  if (!(client as unknown as { tollgateRateHit?: unknown }).tollgateRateHit) {
    redis.client.defineCommand("tollgateRateHit", { numberOfKeys: 1, lua: HIT });
    redis.client.defineCommand("tollgateRateAdjust", { numberOfKeys: 1, lua: ADJUST });
  }
  const keyOf = (key: string) => redis.key(`rl:${key}`);
  return {
    async hit(key: string, cost: number, rule: RateLimitRule, now?: number): Promise<RateLimitDecision> {
      const [allowed, remaining, resetMs, retryAfterMs] = await client.tollgateRateHit(
        keyOf(key),
        cost,
        rule.windowMs,
        now ?? -1,
        rule.limit,
      );
      return {
        allowed: Number(allowed) === 1,
        limit: rule.limit,
        remaining: Number(remaining),
        resetMs: Number(resetMs),
        retryAfterMs: Number(retryAfterMs),
      };
    },
    async adjust(key: string, delta: number, rule: RateLimitRule, now?: number): Promise<void> {
      await client.tollgateRateAdjust(keyOf(key), delta, rule.windowMs, now ?? -1);
    },
  };
}

export interface FailoverEvents {
  /** Each call answered without Redis (degraded: local counters, or refused when closed). */
  onFallback(err: unknown): void;
}

export interface FailoverRateLimitStore extends RateLimitStore {
  /** "global" while Redis answers; "local" or "closed" after a Redis failure, until a Redis call succeeds again. */
  mode(): "global" | "local" | "closed";
}

const rateLimiterUnavailable = () => unavailable("rate_limiter_unavailable");

/**
 * Redis first; on a Redis error (or while the connection is known to be down,
 * without waiting for a timeout) the in-process store, or a 503 when
 * `onFailure` is "closed".
 */
export function createFailoverRateLimitStore(opts: {
  redis: RedisConnection;
  onFailure: "local" | "closed";
  events: FailoverEvents;
  primary?: RateLimitStore;
  fallback?: RateLimitStore;
}): FailoverRateLimitStore {
  const primary = opts.primary ?? createRedisRateLimitStore(opts.redis);
  const fallback = opts.fallback ?? createMemoryRateLimitStore();
  let degraded = false;

  /** `refuse`: fail closed when so configured (checks); corrections never refuse — the answer has been sent. */
  async function run<T>(viaRedis: () => Promise<T>, viaLocal: () => Promise<T>, refuse: boolean): Promise<T> {
    if (opts.redis.isUp()) {
      try {
        const out = await viaRedis();
        degraded = false;
        return out;
      } catch (err) {
        // A script error (not a connection problem) is a bug: let it surface.
        if (isScriptError(err)) throw err;
        degraded = true;
        opts.events.onFallback(err);
      }
    } else {
      degraded = true;
      opts.events.onFallback(new Error(`redis is ${opts.redis.health().status}`));
    }
    if (refuse && opts.onFailure === "closed") throw rateLimiterUnavailable();
    return viaLocal();
  }

  return {
    hit: (key, cost, rule, now) =>
      run(
        () => primary.hit(key, cost, rule, now),
        () => fallback.hit(key, cost, rule, now),
        true,
      ),
    adjust: (key, delta, rule, now) =>
      run(
        () => primary.adjust(key, delta, rule, now),
        () => fallback.adjust(key, delta, rule, now),
        false,
      ),
    mode: () => (degraded ? opts.onFailure : "global"),
  };
}

function isScriptError(err: unknown): boolean {
  const m = String((err as Error)?.message ?? "");
  return m.startsWith("ERR Error running script") || m.includes("user_script");
}
