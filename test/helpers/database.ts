/**
 * Test storage: in-memory PGlite by default; with TEST_DATABASE_URL, a fresh
 * PostgreSQL database per test file (created from that URL, dropped at the end).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Database, openDatabase } from "../../src/platform/db/db.js";
import { runMigrations } from "../../src/platform/db/migrate.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;
export const storageKind = TEST_DATABASE_URL ? "postgres" : "pglite";

export interface TestDatabase {
  database: Database;
  /** The URL of this file's own PostgreSQL database (postgres only). */
  url?: string;
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database next to TEST_DATABASE_URL and returns its URL. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error("TEST_DATABASE_URL is not set");
  const name = `tollgate_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export async function openTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (TEST_DATABASE_URL) {
    const pgdb = await createPgDatabase();
    const database = await openDatabase({ databaseUrl: pgdb.url, dataDir: null, poolMax: 10 });
    if (opts.migrate !== false) await runMigrations(database);
    return {
      database,
      url: pgdb.url,
      async drop() {
        await database.close();
        await pgdb.drop();
      },
    };
  }
  const database = await openDatabase({ dataDir: null });
  if (opts.migrate !== false) await runMigrations(database);
  return { database, drop: () => database.close() };
}
