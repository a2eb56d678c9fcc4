/**
 * Storage: embedded PGlite (data in the data dir) by default, PostgreSQL when
 * DATABASE_URL is set. Both speak the same SQL and share one Drizzle schema and
 * one migration history. PGlite is single-process: a lock in its data dir
 * (data-dir-lock.ts) makes a second process fail fast instead of corrupting it.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePg, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "../../schema.js";
import { lockDataDir } from "./data-dir-lock.js";

export { DataDirLockedError } from "./data-dir-lock.js";

export type Schema = typeof schema;
/** The app's database handle. PGlite's Drizzle driver is used through the same type. */
export type Db = NodePgDatabase<Schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Run raw SQL on one connection (used by migrations under an advisory lock). */
  withConnection<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Connection pool counts (PostgreSQL; null on PGlite, which has no pool). */
  poolStats(): { total: number; idle: number; waiting: number; max: number } | null;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** Data dir for PGlite; `null` = in-memory (tests only, an explicit opt-in). */
  dataDir: string | null;
  poolMax?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolMax ?? 10);
  return openPglite(opts.dataDir);
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client's error (server restart) must not crash the process.
  pool.on("error", () => {});
  const db = drizzlePg(pool, { schema });
  return {
    db,
    kind: "postgres",
    async withConnection(fn) {
      const client = await pool.connect();
      try {
        return await fn(drizzlePg(client, { schema }) as unknown as Db);
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query("select 1");
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    async close() {
      await pool.end();
    },
  };
}

/**
 * The embedded database's settings on top of PGlite's own. Its buffer pool lives in the process's
 * memory: PostgreSQL's default 128 MB made a third of an idle server's RSS; an embedded database is
 * small, and the files behind the pool stay in the operating system's page cache.
 */
const PGLITE_OPTIONS = {
  startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"],
};

async function openPglite(dataDir: string | null): Promise<Database> {
  let release: (() => Promise<void>) | undefined;
  let client: PGlite;
  if (dataDir) {
    const dir = path.join(dataDir, "pglite");
    mkdirSync(dir, { recursive: true });
    release = await lockDataDir(dataDir);
    client = new PGlite(dir, PGLITE_OPTIONS);
  } else {
    client = new PGlite(PGLITE_OPTIONS);
  }
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    withConnection: (fn) => fn(db),
    async ping() {
      await client.query("select 1");
    },
    poolStats: () => null,
    async close() {
      await client.close();
      await release?.();
    },
  };
}

/** True when `err` (possibly wrapped by Drizzle) is a unique violation, optionally of one constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  for (let e = err as { code?: string; constraint?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === "23505")
      return (
        constraint === undefined ||
        e.constraint === constraint ||
        String((e as Error).message ?? "").includes(constraint)
      );
  }
  return false;
}
