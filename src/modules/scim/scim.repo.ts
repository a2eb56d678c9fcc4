/**
 * SQL for organizations' SCIM tokens: management statements are scoped by org
 * id; the bearer lookup is by digest (a unique index) with bound parameters
 * only, and never answers for an organization the operator disabled.
 */
import { and, eq, isNull, lt, notExists, or, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { disabledOrganizations } from "../admin/admin.schema.js";
import { type OrgScimTokenRow, orgScimTokens } from "./scim-token.schema.js";

export type ScimTokenWithCreator = OrgScimTokenRow & { creatorEmail: string | null };

export async function getToken(db: DbOrTx, orgId: string): Promise<ScimTokenWithCreator | null> {
  const [row] = await db
    .select({ token: orgScimTokens, creatorEmail: users.email })
    .from(orgScimTokens)
    .leftJoin(users, eq(users.id, orgScimTokens.createdBy))
    .where(eq(orgScimTokens.orgId, orgId))
    .limit(1);
  return row ? { ...row.token, creatorEmail: row.creatorEmail } : null;
}

/** Creates the org's token or replaces it (the old digest is gone once this commits). */
export async function putToken(
  db: DbOrTx,
  row: Pick<OrgScimTokenRow, "id" | "orgId" | "digest" | "hint" | "createdBy">,
): Promise<OrgScimTokenRow> {
  const [out] = await db
    .insert(orgScimTokens)
    .values(row)
    .onConflictDoUpdate({
      target: orgScimTokens.orgId,
      set: {
        id: row.id,
        digest: row.digest,
        hint: row.hint,
        createdBy: row.createdBy,
        createdAt: sql`now()`,
        lastUsedAt: null,
      },
    })
    .returning();
  return out!;
}

/** Deletes the org's token; returns it (null if SCIM was not enabled). */
export async function deleteToken(db: DbOrTx, orgId: string): Promise<OrgScimTokenRow | null> {
  const [row] = await db.delete(orgScimTokens).where(eq(orgScimTokens.orgId, orgId)).returning();
  return row ?? null;
}

/** The token with this digest, unless its organization is disabled. */
export async function findByDigest(db: DbOrTx, digest: string): Promise<{ id: string; orgId: string } | null> {
  const [row] = await db
    .select({ id: orgScimTokens.id, orgId: orgScimTokens.orgId })
    .from(orgScimTokens)
    .where(
      and(
        eq(orgScimTokens.digest, digest),
        notExists(
          db
            .select({ one: sql`1` })
            .from(disabledOrganizations)
            .where(eq(disabledOrganizations.orgId, orgScimTokens.orgId)),
        ),
      ),
    )
    .limit(1);
  return row ?? null;
}

/** Records a use, at most once a minute per token (an identity provider syncs in bursts). */
export async function touchToken(db: DbOrTx, id: string): Promise<void> {
  await db
    .update(orgScimTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(
      and(
        eq(orgScimTokens.id, id),
        or(isNull(orgScimTokens.lastUsedAt), lt(orgScimTokens.lastUsedAt, sql`now() - interval '1 minute'`)),
      ),
    );
}
