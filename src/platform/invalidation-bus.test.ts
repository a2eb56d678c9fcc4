/** The in-process cache invalidation bus: how long caches may keep entries (the Redis bus is in test/redis-bus.test.ts). */
import { describe, expect, it } from "vitest";
import { createLocalInvalidationBus, FALLBACK_TTL_MS } from "./invalidation-bus.js";

describe("local invalidation bus", () => {
  it("lets caches live long in one process, caps them at the fallback TTL when replicas share a database", () => {
    expect(createLocalInvalidationBus().maxAgeMs(60_000)).toBe(60_000);
    expect(createLocalInvalidationBus({ singleProcess: true }).maxAgeMs(60_000)).toBe(60_000);
    expect(createLocalInvalidationBus({ singleProcess: false }).maxAgeMs(60_000)).toBe(FALLBACK_TTL_MS);
    expect(createLocalInvalidationBus({ singleProcess: false }).maxAgeMs(500)).toBe(500);
  });
});
