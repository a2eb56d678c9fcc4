import { describe, expect, it } from "vitest";
import { createMemoryRateLimitStore, MINUTE } from "./ratelimit.js";

const rule = { limit: 10, windowMs: MINUTE };

describe("sliding-window rate limit", () => {
  it("admits up to the limit, then refuses with a retry time", async () => {
    const s = createMemoryRateLimitStore();
    const t0 = 1_000_000 * MINUTE;
    for (let i = 0; i < 10; i++) expect((await s.hit("k", 1, rule, t0 + i)).allowed).toBe(true);
    const d = await s.hit("k", 1, rule, t0 + 20);
    expect(d).toMatchObject({ allowed: false, remaining: 0 });
    expect(d.retryAfterMs).toBeGreaterThan(0);
    expect(d.retryAfterMs).toBeLessThanOrEqual(MINUTE);
  });

  it("weights the previous window by its overlap", async () => {
    const s = createMemoryRateLimitStore();
    const t0 = 1_000_000 * MINUTE;
    for (let i = 0; i < 10; i++) await s.hit("k", 1, rule, t0);
    // Halfway through the next window, half of the previous 10 still count.
    const half = t0 + MINUTE + MINUTE / 2;
    const results = [];
    for (let i = 0; i < 6; i++) results.push((await s.hit("k", 1, rule, half)).allowed);
    expect(results).toEqual([true, true, true, true, true, false]);
  });

  it("keeps keys apart and lets an estimate be corrected", async () => {
    const s = createMemoryRateLimitStore();
    const t0 = 5 * MINUTE;
    expect((await s.hit("a", 10, rule, t0)).allowed).toBe(true);
    expect((await s.hit("b", 10, rule, t0)).allowed).toBe(true);
    expect((await s.hit("a", 1, rule, t0)).allowed).toBe(false);
    await s.adjust("a", -4, rule, t0);
    expect((await s.hit("a", 4, rule, t0)).allowed).toBe(true);
  });

  it("refuses a single request larger than the whole limit", async () => {
    const s = createMemoryRateLimitStore();
    expect((await s.hit("k", 11, rule, 0)).allowed).toBe(false);
  });
});
