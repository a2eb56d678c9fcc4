/**
 * Applies the migrations in ./drizzle. On PostgreSQL several replicas may boot
 * at once: the run holds a session-level advisory lock on one connection for
 * its whole length, so the others wait and then find nothing left to do.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { Database } from "./db.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../drizzle/", import.meta.url));
const MIGRATION_LOCK_KEY = 7_463_001; // arbitrary, constant: "tollgate migrations"

export async function runMigrations(database: Database): Promise<void> {
  await database.withConnection(async (db) => {
    if (database.kind === "postgres") await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    try {
      // The node-postgres and PGlite migrators run the same statements; both only
      // need `execute` and `transaction` from the session, which the handle has.
      await migratePg(db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      if (database.kind === "postgres") await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
    }
  });
}
