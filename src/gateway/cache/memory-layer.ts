/**
 * The response cache's in-process layer, in front of its store (Redis or the
 * database): recent answers are served from memory, without a round trip or
 * a query; a write lands here at once and reaches the store behind it. Bounded
 * by bytes (least recently used answers go first) and by each answer's own
 * expiry: an answer is never served past the time its store would drop it.
 * Entries are immutable (a key is an exact request), so a replica's copy is
 * never wrong, only absent. Each hit gets its own copy (parsed from the kept
 * JSON), so nothing a caller does to an answer reaches the next one.
 */
import type { CacheEntry, ResponseCacheStore } from "./cache.js";

interface Held {
  text: string;
  expiresAtMs: number;
}

export function withMemoryLayer(store: ResponseCacheStore, maxBytes = 64 * 1024 * 1024): ResponseCacheStore {
  const held = new Map<string, Held>();
  let bytes = 0;
  const drop = (id: string, h: Held) => {
    held.delete(id);
    bytes -= h.text.length;
  };
  const put = (id: string, text: string, expiresAtMs: number) => {
    const old = held.get(id);
    if (old) drop(id, old);
    if (text.length > maxBytes) return;
    held.set(id, { text, expiresAtMs });
    bytes += text.length;
    for (const [oldest, h] of held) {
      if (bytes <= maxBytes) break;
      drop(oldest, h);
    }
  };
  return {
    async get(projectId, key) {
      const id = `${projectId}:${key}`;
      const h = held.get(id);
      if (h) {
        if (h.expiresAtMs > Date.now()) {
          // Most recently used last (a Map keeps insertion order).
          held.delete(id);
          held.set(id, h);
          return { entry: JSON.parse(h.text) as CacheEntry, expiresAtMs: h.expiresAtMs };
        }
        drop(id, h);
      }
      const found = await store.get(projectId, key);
      if (found) put(id, JSON.stringify(found.entry), found.expiresAtMs);
      return found;
    },
    async set(projectId, orgId, key, entry, text, ttlSeconds) {
      put(`${projectId}:${key}`, text, Date.now() + ttlSeconds * 1000);
      await store.set(projectId, orgId, key, entry, text, ttlSeconds);
    },
  };
}
