/** The playground keys' rows, scoped by organization. */
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { apiKeys } from "../keys/keys.schema.js";
import { playgroundKeys } from "./playground.schema.js";

/** The person's playground key in the project, with whether it has been revoked. */
export async function findKey(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  userId: string,
): Promise<{ keyId: string; sealed: string; revoked: boolean } | null> {
  const [row] = await db
    .select({ keyId: playgroundKeys.keyId, sealed: playgroundKeys.sealedKey, revokedAt: apiKeys.revokedAt })
    .from(playgroundKeys)
    .innerJoin(apiKeys, eq(apiKeys.id, playgroundKeys.keyId))
    .where(
      and(eq(playgroundKeys.orgId, orgId), eq(playgroundKeys.projectId, projectId), eq(playgroundKeys.userId, userId)),
    );
  return row ? { keyId: row.keyId, sealed: row.sealed, revoked: row.revokedAt !== null } : null;
}

/**
 * Saves a new playground key for the person: in place of a revoked one, never over one that works (a
 * concurrent first use saved it a moment ago). True when this key was saved.
 */
export async function saveKey(db: DbOrTx, row: typeof playgroundKeys.$inferInsert): Promise<boolean> {
  const kept = await db
    .insert(playgroundKeys)
    .values(row)
    .onConflictDoUpdate({
      target: [playgroundKeys.projectId, playgroundKeys.userId],
      set: { keyId: row.keyId, sealedKey: row.sealedKey, createdAt: new Date() },
      setWhere: sql`exists (select 1 from ${apiKeys} where ${apiKeys.id} = ${playgroundKeys.keyId} and ${apiKeys.revokedAt} is not null)`,
    })
    .returning({ keyId: playgroundKeys.keyId });
  return kept.length > 0;
}
