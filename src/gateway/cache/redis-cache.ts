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
        const text = await redis.client.get(keyOf(projectId, key));
        return text ? (JSON.parse(text) as CacheEntry) : null;
      } catch (err) {
        onError(err);
        return null;
      }
    },
    async set(projectId, _orgId, key, entry, ttlSeconds) {
      const text = JSON.stringify(entry);
      if (text.length > MAX_ENTRY_BYTES) return;
      try {
        await redis.client.set(keyOf(projectId, key), text, "EX", ttlSeconds);
      } catch (err) {
        onError(err);
      }
    },
  };
}
