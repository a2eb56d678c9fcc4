/**
 * The response cache in Redis (REDIS_URL set): one string per entry under
 * `<prefix>cache:<project>:<key>`, expiring with its TTL (Redis drops it), so
 * every replica serves the same answers. A Redis failure is a miss.
 */
import type { RedisConnection } from "../../platform/redis.js";
import type { CacheEntry, ResponseCacheStore } from "./cache.js";
import { MAX_ENTRY_BYTES } from "./cache.js";

export function createRedisResponseCache(redis: RedisConnection, onError: (err: unknown) => void): ResponseCacheStore {
  const keyOf = (projectId: string, key: string) => redis.key(`cache:${projectId}:${key}`);
  return {
    async get(projectId, key) {
      try {
        const k = keyOf(projectId, key);
        const res = await redis.client.multi().get(k).pttl(k).exec();
        const text = res?.[0]?.[1] as string | null | undefined;
        const ttl = Number(res?.[1]?.[1] ?? -2);
        if (!text || ttl <= 0) return null;
        return { entry: JSON.parse(text) as CacheEntry, expiresAtMs: Date.now() + ttl };
      } catch (err) {
        onError(err);
        return null;
      }
    },
    async set(projectId, _orgId, key, _entry, text, ttlSeconds) {
      if (text.length > MAX_ENTRY_BYTES) return;
      try {
        await redis.client.set(keyOf(projectId, key), text, "EX", ttlSeconds);
      } catch (err) {
        onError(err);
      }
    },
  };
}
