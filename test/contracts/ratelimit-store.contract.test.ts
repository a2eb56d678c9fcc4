/**
 * The rate-limit store contract (gateway/ratelimit): what the gateway's
 * request and token limits rely on, for every store — in-process, Redis (Lua
 * script), and the failover wrapper both while Redis answers and while it is
 * unreachable (answering from its in-process fallback).
 *  - `hit` admits while the sliding window has room and adds the cost; a
 *    refusal adds nothing and says how long until the cost would fit;
 *  - the previous window counts by how much of it still overlaps;
 *  - `adjust` corrects an estimate either way, never below zero;
 *  - every store makes exactly the same decisions (a golden sequence);
 *  - concurrent hits never admit more than the limit;
 *  - without `now` (the gateway never passes it) the store takes its own clock.
 * Redis-only behaviour (atomic across connections, failing over and back)
 * is in test/redis-ratelimit.test.ts.
 */
import { expect, it } from "vitest";
import { createMemoryRateLimitStore, MINUTE, type RateLimitStore } from "../../src/gateway/ratelimit/ratelimit.js";
import { createFailoverRateLimitStore, createRedisRateLimitStore } from "../../src/gateway/ratelimit/redis-store.js";
import type { RedisConnection } from "../../src/platform/redis.js";
import { contract, fresh, type Implementation, redisScope, unreachableRedis } from "./harness.js";

interface Subject {
  store: RateLimitStore;
  close(): Promise<void>;
}

const implementations: Array<Implementation<Subject>> = [
  {
    name: "in-process",
    make: () => ({ store: createMemoryRateLimitStore(), close: async () => undefined }),
    cleanup: (s) => s.close(),
  },
  {
    name: "redis",
    needs: "TEST_REDIS_URL",
    async make() {
      const scope = redisScope();
      return { store: createRedisRateLimitStore(await scope.connect()), close: () => scope.close() };
    },
    cleanup: (s) => s.close(),
  },
  {
    name: "failover, redis up",
    needs: "TEST_REDIS_URL",
    async make() {
      const scope = redisScope();
      const redis = await scope.connect();
      let fallbacks = 0;
      const store = createFailoverRateLimitStore({
        redis,
        onFailure: "closed",
        events: { onFallback: () => fallbacks++ },
      });
      return {
        store,
        async close() {
          // Every decision came from Redis: a fallback would have refused (fail closed) and failed the test anyway.
          expect(fallbacks).toBe(0);
          expect(store.mode()).toBe("global");
          await scope.close();
        },
      };
    },
    cleanup: (s) => s.close(),
  },
  {
    name: "failover, redis unreachable (in-process fallback)",
    make() {
      const redis: RedisConnection = unreachableRedis();
      let fallbacks = 0;
      const store = createFailoverRateLimitStore({
        redis,
        onFailure: "local",
        events: { onFallback: () => fallbacks++ },
      });
      return {
        store,
        async close() {
          expect(fallbacks).toBeGreaterThan(0);
          expect(store.mode()).toBe("local");
          await redis.close();
        },
      };
    },
    cleanup: (s) => s.close(),
  },
];

const rule = { limit: 10, windowMs: MINUTE };
/** A window boundary far from the wall clock: decisions depend on `now` only. */
const W = 1_000_000 * MINUTE;

contract("rate-limit store", implementations, (impl) => {
  const subject = fresh(impl);
  const store = () => subject().store;

  it("admits up to the limit, then refuses with remaining 0 and a retry time within two windows (a full window decays over the next)", async () => {
    for (let i = 0; i < 10; i++) {
      const d = await store().hit("k", 1, rule, W + i);
      expect(d).toMatchObject({ allowed: true, limit: 10, remaining: 9 - i, retryAfterMs: 0 });
    }
    const d = await store().hit("k", 1, rule, W + 20);
    expect(d).toMatchObject({ allowed: false, limit: 10, remaining: 0 });
    expect(d.retryAfterMs).toBeGreaterThan(0);
    expect(d.retryAfterMs).toBeLessThanOrEqual(2 * MINUTE);
  });

  it("says when the window rolls over", async () => {
    expect((await store().hit("k", 1, rule, W)).resetMs).toBe(MINUTE);
    expect((await store().hit("k", 1, rule, W + 15_000)).resetMs).toBe(45_000);
    expect((await store().hit("k", 100, rule, W + 59_999)).resetMs).toBe(1);
  });

  it("weights the previous window by its overlap", async () => {
    for (let i = 0; i < 10; i++) await store().hit("k", 1, rule, W);
    // Halfway through the next window, half of the previous 10 still count.
    const half = W + MINUTE + MINUTE / 2;
    const results = [];
    for (let i = 0; i < 6; i++) results.push((await store().hit("k", 1, rule, half)).allowed);
    expect(results).toEqual([true, true, true, true, true, false]);
    // A window later still, nothing of it is left.
    expect((await store().hit("k", 10, rule, W + 3 * MINUTE)).allowed).toBe(true);
  });

  it("keeps keys apart", async () => {
    expect((await store().hit("a", 10, rule, W)).allowed).toBe(true);
    expect((await store().hit("b", 10, rule, W)).allowed).toBe(true);
    expect((await store().hit("a", 1, rule, W)).allowed).toBe(false);
    expect((await store().hit("c:with:colons", 10, rule, W)).allowed).toBe(true);
  });

  it("refuses a single cost larger than the whole limit, and a refusal adds nothing", async () => {
    expect((await store().hit("k", 11, rule, W)).allowed).toBe(false);
    expect(await store().hit("k", 10, rule, W)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("token correction: the real usage replaces the estimate, never below zero", async () => {
    const tpm = { limit: 1000, windowMs: MINUTE };
    expect((await store().hit("tpm", 100, tpm, W)).remaining).toBe(900);
    await store().adjust("tpm", 500, tpm, W); // used 600, not 100
    expect((await store().hit("tpm", 1, tpm, W)).remaining).toBe(399);
    await store().adjust("tpm", -201, tpm, W); // a refund
    expect((await store().hit("tpm", 600, tpm, W)).allowed).toBe(true);
    expect((await store().hit("tpm", 1, tpm, W)).allowed).toBe(false);
    await store().adjust("tpm", -10_000, tpm, W); // never below zero
    expect((await store().hit("tpm", 1000, tpm, W)).allowed).toBe(true);
    // A correction on a key never hit starts its window.
    await store().adjust("fresh", 7, rule, W);
    expect((await store().hit("fresh", 4, rule, W)).allowed).toBe(false);
  });

  it("makes exactly these decisions across window boundaries (every store the same)", async () => {
    const t0 = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE) + 50_000; // 50 s into a window
    // [ms after t0, cost, allowed, remaining, resetMs, retryAfterMs]
    const golden: Array<[number, number, boolean, number, number, number]> = [
      [0, 3, true, 7, 10_000, 0],
      [1_000, 4, true, 3, 9_000, 0],
      [2_000, 4, false, 3, 8_000, 16_572],
      [3_000, 3, true, 0, 7_000, 0],
      [15_000, 2, false, 0, 55_000, 7_000],
      [20_000, 1, true, 0, 50_000, 0],
      [40_000, 5, false, 4, 30_000, 6_000],
      [40_001, 6, false, 4, 29_999, 11_999],
      [70_000, 1, true, 8, 60_000, 0],
      [130_000, 10, false, 9, 60_000, 60_000],
      [200_000, 11, false, 10, 50_000, 50_000],
    ];
    for (const [dt, cost, allowed, remaining, resetMs, retryAfterMs] of golden) {
      expect(await store().hit("k", cost, rule, t0 + dt), `at +${dt} ms, cost ${cost}`).toEqual({
        allowed,
        limit: 10,
        remaining,
        resetMs,
        retryAfterMs,
      });
    }
    await store().adjust("k", -4, rule, t0 + 200_001);
    expect(await store().hit("k", 4, rule, t0 + 200_002)).toEqual({
      allowed: true,
      limit: 10,
      remaining: 6,
      resetMs: 49_998,
      retryAfterMs: 0,
    });
  });

  it("concurrent hits on one key admit exactly the limit", async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => store().hit("rpm:p:x", 1, rule, W + 1)));
    expect(results.filter((d) => d.allowed)).toHaveLength(10);
    for (const d of results.filter((d) => !d.allowed)) expect(d).toMatchObject({ remaining: 0, limit: 10 });
  });

  it("retried after retryAfterMs while the previous window decays, the same cost is admitted", async () => {
    for (let i = 0; i < 10; i++) await store().hit("k", 1, rule, W + 30_000);
    const refused = await store().hit("k", 3, rule, W + MINUTE + 10_000);
    expect(refused.allowed).toBe(false);
    expect((await store().hit("k", 3, rule, W + MINUTE + 10_000 + refused.retryAfterMs)).allowed).toBe(true);
  });

  it("retried after retryAfterMs when the window is full and nothing carried over, the same cost is admitted (not a ms before)", async () => {
    for (let i = 0; i < 10; i++) await store().hit("k", 1, rule, W + 1_000);
    const refused = await store().hit("k", 1, rule, W + 2_000);
    // The full window counts in full at the roll-over (58 s on); 10 % of it must decay first (6 s more).
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 64_000 });
    expect((await store().hit("k", 1, rule, W + 2_000 + refused.retryAfterMs - 1)).allowed).toBe(false);
    expect((await store().hit("k", 1, rule, W + 2_000 + refused.retryAfterMs)).allowed).toBe(true);
  });

  it("without `now` (as the gateway calls it) counts on its own clock", async () => {
    const big = { limit: 3, windowMs: 3_600_000 };
    const first = await store().hit("clock", 1, big);
    expect(first).toMatchObject({ allowed: true, limit: 3, remaining: 2, retryAfterMs: 0 });
    expect(first.resetMs).toBeGreaterThan(0);
    expect(first.resetMs).toBeLessThanOrEqual(big.windowMs);
    await store().adjust("clock", 1, big);
    expect((await store().hit("clock", 1, big)).allowed).toBe(true);
    expect((await store().hit("clock", 1, big)).allowed).toBe(false);
  });
});
