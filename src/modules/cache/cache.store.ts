/**
 * The response cache in the database (no Redis): one row per entry, read only
 * while it has not expired. Writes are queued and written in batches (one
 * statement every 50 ms at most), behind the in-process layer that serves the
 * answer meanwhile; a write lost at shutdown is a cache entry, never data.
 * Expired rows are deleted now and then by the writes themselves (at most
 * once a minute per process, a bounded batch), so the table holds about one
 * TTL of answers without a job of its own. A database failure is a miss
 * (reads) or nothing (writes).
 */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { type CacheEntry, MAX_ENTRY_BYTES, type ResponseCacheStore } from "../../gateway/cache/cache.js";
import type { Db } from "../../platform/db/db.js";
import { responseCache } from "./cache.schema.js";

const PURGE_EVERY_MS = 60_000;
const PURGE_BATCH = 5_000;
const WRITE_EVERY_MS = 50;
const MAX_QUEUED = 5_000;

interface Pending {
  projectId: string;
  orgId: string;
  key: string;
  text: string;
  ttlSeconds: number;
}

export function createDbResponseCache(db: Db, onError: (err: unknown) => void): ResponseCacheStore {
  let purgedAt = 0;
  let queue = new Map<string, Pending>();
  let timer: NodeJS.Timeout | null = null;

  async function purge() {
    purgedAt = Date.now();
    const expired = db
      .select({ projectId: responseCache.projectId, key: responseCache.key })
      .from(responseCache)
      .where(lt(responseCache.expiresAt, sql`now()`))
      .limit(PURGE_BATCH);
    await db.delete(responseCache).where(sql`(${responseCache.projectId}, ${responseCache.key}) in (${expired})`);
  }

  async function write() {
    timer = null;
    const rows = [...queue.values()];
    queue = new Map();
    if (rows.length === 0) return;
    try {
      await db
        .insert(responseCache)
        .values(
          rows.map((r) => ({
            projectId: r.projectId,
            key: r.key,
            orgId: r.orgId,
            entry: sql`${r.text}::jsonb`,
            expiresAt: sql`now() + make_interval(secs => ${r.ttlSeconds})`,
          })),
        )
        .onConflictDoUpdate({
          target: [responseCache.projectId, responseCache.key],
          set: { entry: sql`excluded.entry`, expiresAt: sql`excluded.expires_at`, createdAt: sql`now()` },
        });
      if (Date.now() - purgedAt > PURGE_EVERY_MS) await purge();
    } catch (err) {
      onError(err);
    }
  }

  return {
    async get(projectId, key) {
      try {
        const [row] = await db
          .select({ entry: responseCache.entry, expiresAt: responseCache.expiresAt })
          .from(responseCache)
          .where(
            and(
              eq(responseCache.projectId, projectId),
              eq(responseCache.key, key),
              gt(responseCache.expiresAt, sql`now()`),
            ),
          )
          .limit(1);
        return row ? { entry: row.entry as CacheEntry, expiresAtMs: row.expiresAt.getTime() } : null;
      } catch (err) {
        onError(err);
        return null;
      }
    },
    async set(projectId, orgId, key, _entry, text, ttlSeconds) {
      if (text.length > MAX_ENTRY_BYTES || queue.size >= MAX_QUEUED) return;
      queue.set(`${projectId}:${key}`, { projectId, orgId, key, text, ttlSeconds });
      if (!timer) {
        timer = setTimeout(() => void write(), WRITE_EVERY_MS);
        timer.unref();
      }
    },
  };
}
