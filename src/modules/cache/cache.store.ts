/**
 * The response cache in the database (no Redis): one row per entry, read only
 * while it has not expired. Expired rows are deleted now and then by the
 * writes themselves (at most once a minute per process, a bounded batch), so
 * the table holds about one TTL of answers without a job of its own. A
 * database failure is a miss (reads) or nothing (writes).
 */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { type CacheEntry, MAX_ENTRY_BYTES, type ResponseCacheStore } from "../../gateway/cache/cache.js";
import type { Db } from "../../platform/db/db.js";
import { responseCache } from "./cache.schema.js";

const PURGE_EVERY_MS = 60_000;
const PURGE_BATCH = 5_000;

export function createDbResponseCache(db: Db, onError: (err: unknown) => void): ResponseCacheStore {
  let purgedAt = 0;
  async function purge() {
    purgedAt = Date.now();
    const expired = db
      .select({ projectId: responseCache.projectId, key: responseCache.key })
      .from(responseCache)
      .where(lt(responseCache.expiresAt, sql`now()`))
      .limit(PURGE_BATCH);
    await db.delete(responseCache).where(sql`(${responseCache.projectId}, ${responseCache.key}) in (${expired})`);
  }
  return {
    async get(projectId, key) {
      try {
        const [row] = await db
          .select({ entry: responseCache.entry })
          .from(responseCache)
          .where(
            and(
              eq(responseCache.projectId, projectId),
              eq(responseCache.key, key),
              gt(responseCache.expiresAt, sql`now()`),
            ),
          )
          .limit(1);
        return (row?.entry as CacheEntry | undefined) ?? null;
      } catch (err) {
        onError(err);
        return null;
      }
    },
    async set(projectId, orgId, key, entry, ttlSeconds) {
      if (JSON.stringify(entry).length > MAX_ENTRY_BYTES) return;
      try {
        const expiresAt = sql`now() + make_interval(secs => ${ttlSeconds})`;
        await db
          .insert(responseCache)
          .values({ projectId, key, orgId, entry, expiresAt })
          .onConflictDoUpdate({
            target: [responseCache.projectId, responseCache.key],
            set: { entry, expiresAt, createdAt: sql`now()` },
          });
        if (Date.now() - purgedAt > PURGE_EVERY_MS) await purge();
      } catch (err) {
        onError(err);
      }
    },
  };
}
