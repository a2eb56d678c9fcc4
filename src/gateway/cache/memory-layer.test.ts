import { describe, expect, it } from "vitest";
import type { CacheEntry, CachedAnswer, ResponseCacheStore } from "./cache.js";
import { withMemoryLayer } from "./memory-layer.js";

const entry = (text: string): CacheEntry => ({
  kind: "response",
  response: { id: "c", object: "chat.completion", created: 0, model: "m", choices: [] } as never,
  usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 },
  served: text,
});

function fakeStore() {
  const rows = new Map<string, CachedAnswer>();
  let gets = 0;
  const store: ResponseCacheStore = {
    async get(p, k) {
      gets++;
      // As the stores do: never an expired answer.
      const found = rows.get(`${p}:${k}`);
      return found && found.expiresAtMs > Date.now() ? found : null;
    },
    async set(p, _o, k, e, _t, ttl) {
      rows.set(`${p}:${k}`, { entry: e, expiresAtMs: Date.now() + ttl * 1000 });
    },
  };
  return { store, rows, gets: () => gets };
}

describe("the response cache's in-process layer", () => {
  it("serves what was written without asking the store, each hit its own copy", async () => {
    const s = fakeStore();
    const cache = withMemoryLayer(s.store);
    const e = entry("a/m");
    await cache.set("p1", "o1", "k1", e, JSON.stringify(e), 60);
    const first = await cache.get("p1", "k1");
    const second = await cache.get("p1", "k1");
    expect(first?.entry).toEqual(e);
    expect(first!.entry).not.toBe(second!.entry);
    expect(s.gets()).toBe(0);
    // Another project's identical key is not this one's.
    expect(await cache.get("p2", "k1")).toBeNull();
    expect(s.gets()).toBe(1);
  });

  it("falls through to the store, then keeps what it found until the store's expiry", async () => {
    const s = fakeStore();
    s.rows.set("p1:k2", { entry: entry("b/m"), expiresAtMs: Date.now() + 60_000 });
    const cache = withMemoryLayer(s.store);
    expect((await cache.get("p1", "k2"))?.entry.served).toBe("b/m");
    expect((await cache.get("p1", "k2"))?.entry.served).toBe("b/m");
    expect(s.gets()).toBe(1);
    // Expired: never served from memory.
    s.rows.set("p1:k3", { entry: entry("c/m"), expiresAtMs: Date.now() - 1 });
    const held = withMemoryLayer(fakeStore().store);
    await held.set("p1", "o1", "k3", entry("c/m"), JSON.stringify(entry("c/m")), 0);
    expect(await held.get("p1", "k3")).toBeNull();
  });

  it("keeps within its byte budget, least recently used first out", async () => {
    const s = fakeStore();
    const one = JSON.stringify(entry("x/m")).length;
    const cache = withMemoryLayer(s.store, one * 3);
    for (const k of ["a", "b", "c"]) await cache.set("p", "o", k, entry("x/m"), JSON.stringify(entry("x/m")), 60);
    s.rows.clear();
    await cache.get("p", "a"); // a is now the most recent
    await cache.set("p", "o", "d", entry("x/m"), JSON.stringify(entry("x/m")), 60);
    s.rows.clear();
    const before = s.gets();
    expect(await cache.get("p", "a")).not.toBeNull();
    expect(await cache.get("p", "d")).not.toBeNull();
    expect(s.gets()).toBe(before);
    // `b`, the least recently used, went; the store no longer has it either.
    expect(await cache.get("p", "b")).toBeNull();
  });
});
