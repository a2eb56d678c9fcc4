/**
 * SQL for organization API tokens: management statements are scoped by org id;
 * the guard's lookup is by digest (a unique index) with bound parameters only.
 */
import { and, asc, count, eq, gt, isNull, or, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { projects } from "../projects/projects.schema.js";
import { type OrgApiTokenRow, orgApiTokens, type TokenRevokeReason } from "./api-tokens.schema.js";

export type TokenWithCreator = OrgApiTokenRow & { creatorEmail: string | null };

const withCreator = { token: orgApiTokens, creatorEmail: users.email };

export async function listTokens(db: DbOrTx, orgId: string): Promise<TokenWithCreator[]> {
  const rows = await db
    .select(withCreator)
    .from(orgApiTokens)
    .leftJoin(users, eq(users.id, orgApiTokens.createdBy))
    .where(eq(orgApiTokens.orgId, orgId))
    .orderBy(asc(orgApiTokens.createdAt), asc(orgApiTokens.id));
  return rows.map((r) => ({ ...r.token, creatorEmail: r.creatorEmail }));
}

export async function getTokenForUpdate(db: DbOrTx, orgId: string, tokenId: string): Promise<OrgApiTokenRow | null> {
  const [row] = await db
    .select()
    .from(orgApiTokens)
    .where(and(eq(orgApiTokens.orgId, orgId), eq(orgApiTokens.id, tokenId)))
    .for("update")
    .limit(1);
  return row ?? null;
}

export async function countActiveTokens(db: DbOrTx, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(orgApiTokens)
    .where(
      and(
        eq(orgApiTokens.orgId, orgId),
        isNull(orgApiTokens.revokedAt),
        or(isNull(orgApiTokens.expiresAt), gt(orgApiTokens.expiresAt, sql`now()`)),
      ),
    );
  return Number(row?.n ?? 0);
}

export async function insertToken(db: DbOrTx, row: typeof orgApiTokens.$inferInsert): Promise<OrgApiTokenRow> {
  const [out] = await db.insert(orgApiTokens).values(row).returning();
  return out!;
}

export async function revokeToken(db: DbOrTx, orgId: string, tokenId: string, revokedBy: string | null): Promise<void> {
  await db
    .update(orgApiTokens)
    .set({ revokedAt: sql`now()`, revokedBy, revokedReason: "revoked" satisfies TokenRevokeReason })
    .where(and(eq(orgApiTokens.orgId, orgId), eq(orgApiTokens.id, tokenId), isNull(orgApiTokens.revokedAt)));
}

/** Revokes the live tokens `userId` minted in the org; returns what was revoked. */
export async function revokeTokensOfUser(db: DbOrTx, orgId: string, userId: string) {
  return db
    .update(orgApiTokens)
    .set({ revokedAt: sql`now()`, revokedReason: "member_removed" satisfies TokenRevokeReason })
    .where(and(eq(orgApiTokens.orgId, orgId), eq(orgApiTokens.createdBy, userId), isNull(orgApiTokens.revokedAt)))
    .returning({ id: orgApiTokens.id, name: orgApiTokens.name, hint: orgApiTokens.hint, role: orgApiTokens.role });
}

/** Slugs of the org's projects by id (for lists: restrictions are stored as ids, shown as slugs). */
export async function projectSlugs(db: DbOrTx, orgId: string): Promise<Map<string, string>> {
  const rows = await db
    .select({ id: projects.id, slug: projects.slug })
    .from(projects)
    .where(eq(projects.orgId, orgId));
  return new Map(rows.map((r) => [r.id, r.slug]));
}

/** A token and its creator, by digest: what the guard needs, one indexed lookup. */
export async function findByDigest(db: DbOrTx, digest: string) {
  const [row] = await db
    .select({
      id: orgApiTokens.id,
      digest: orgApiTokens.digest,
      orgId: orgApiTokens.orgId,
      name: orgApiTokens.name,
      role: orgApiTokens.role,
      projectIds: orgApiTokens.projectIds,
      expiresAt: orgApiTokens.expiresAt,
      revokedAt: orgApiTokens.revokedAt,
      createdBy: orgApiTokens.createdBy,
      creatorEmail: users.email,
      creatorName: users.name,
    })
    .from(orgApiTokens)
    .leftJoin(users, eq(users.id, orgApiTokens.createdBy))
    .where(eq(orgApiTokens.digest, digest))
    .limit(1);
  return row ?? null;
}

export type TokenLookupRow = NonNullable<Awaited<ReturnType<typeof findByDigest>>>;

/** Writes batched last-used times in one statement; times only move forward. */
export async function touchLastUsed(db: DbOrTx, entries: Array<{ id: string; at: Date }>): Promise<void> {
  if (entries.length === 0) return;
  const values = sql.join(
    entries.map((e) => sql`(${e.id}, ${e.at.toISOString()}::timestamptz)`),
    sql`, `,
  );
  await db.execute(sql`
    update org_api_tokens as t set last_used_at = v.at
    from (values ${values}) as v(id, at)
    where t.id = v.id and (t.last_used_at is null or t.last_used_at < v.at)`);
}
