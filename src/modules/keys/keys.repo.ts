/**
 * SQL for API keys: management statements are scoped by org id; the gateway's
 * lookup is by digest (a unique index) with bound parameters only.
 */
import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { members, organizations } from "../organizations/organizations.schema.js";
import { projects } from "../projects/projects.schema.js";
import { apiKeys, type ApiKeyRow, type RevokeReason } from "./keys.schema.js";

export type KeyWithCreator = ApiKeyRow & { creatorEmail: string | null };

const withCreator = { key: apiKeys, creatorEmail: users.email };

export async function listKeys(db: DbOrTx, orgId: string, projectId: string): Promise<KeyWithCreator[]> {
  const rows = await db
    .select(withCreator)
    .from(apiKeys)
    .leftJoin(users, eq(users.id, apiKeys.createdBy))
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.projectId, projectId)))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  return rows.map((r) => ({ ...r.key, creatorEmail: r.creatorEmail }));
}

export async function getKey(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  keyId: string,
  lock = false,
): Promise<KeyWithCreator | null> {
  const q = db
    .select(withCreator)
    .from(apiKeys)
    .leftJoin(users, eq(users.id, apiKeys.createdBy))
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.projectId, projectId), eq(apiKeys.id, keyId)))
    .limit(1);
  const [row] = lock ? await q.for("update", { of: apiKeys }) : await q;
  return row ? { ...row.key, creatorEmail: row.creatorEmail } : null;
}

export async function countActiveKeys(db: DbOrTx, orgId: string, projectId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.projectId, projectId), isNull(apiKeys.revokedAt)));
  return Number(row?.n ?? 0);
}

export async function insertKey(db: DbOrTx, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [out] = await db.insert(apiKeys).values(row).returning();
  return out!;
}

export async function updateKey(
  db: DbOrTx,
  orgId: string,
  keyId: string,
  patch: Partial<Pick<ApiKeyRow, "name" | "allowedModels" | "rateLimitRpm" | "rateLimitTpm">>,
): Promise<ApiKeyRow> {
  const [out] = await db
    .update(apiKeys)
    .set(patch)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId)))
    .returning();
  return out!;
}

export async function revokeKey(
  db: DbOrTx,
  orgId: string,
  keyId: string,
  revokedBy: string | null,
  reason: RevokeReason,
): Promise<void> {
  await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()`, revokedBy, revokedReason: reason })
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
}

/** Revokes the live keys `userId` created in the org (optionally in some projects only); returns what was revoked. */
export async function revokeKeysOfUser(
  db: DbOrTx,
  orgId: string,
  userId: string,
  opts: { projectIds?: string[]; revokedBy: string | null; reason: RevokeReason },
): Promise<Array<Pick<ApiKeyRow, "id" | "projectId" | "name" | "hint" | "environment">>> {
  const where = [eq(apiKeys.orgId, orgId), eq(apiKeys.createdBy, userId), isNull(apiKeys.revokedAt)];
  if (opts.projectIds) {
    if (opts.projectIds.length === 0) return [];
    where.push(inArray(apiKeys.projectId, opts.projectIds));
  }
  return db
    .update(apiKeys)
    .set({ revokedAt: sql`now()`, revokedBy: opts.revokedBy, revokedReason: opts.reason })
    .where(and(...where))
    .returning({
      id: apiKeys.id,
      projectId: apiKeys.projectId,
      name: apiKeys.name,
      hint: apiKeys.hint,
      environment: apiKeys.environment,
    });
}

/**
 * Everything the gateway needs about a key, in one indexed lookup by digest.
 * Prepared once per handle (the digest is a bound parameter, never SQL text):
 * planning is paid once, which is most of a lookup's cost.
 */
export function prepareKeyLookup(db: DbOrTx) {
  const q = db
    .select({
      keyId: apiKeys.id,
      digest: apiKeys.digest,
      keyName: apiKeys.name,
      environment: apiKeys.environment,
      createdBy: apiKeys.createdBy,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      keyAllowedModels: apiKeys.allowedModels,
      keyRateLimitRpm: apiKeys.rateLimitRpm,
      keyRateLimitTpm: apiKeys.rateLimitTpm,
      keyBudgetMicroUsd: apiKeys.budgetMicroUsd,
      keyBudgetPeriod: apiKeys.budgetPeriod,
      orgId: organizations.id,
      orgSlug: organizations.slug,
      project: projects,
      creatorRole: members.role,
    })
    .from(apiKeys)
    .innerJoin(projects, and(eq(projects.id, apiKeys.projectId), eq(projects.orgId, apiKeys.orgId)))
    .innerJoin(organizations, eq(organizations.id, apiKeys.orgId))
    // The creator's role today (null once they left): whether the key may learn the org's balance.
    .leftJoin(members, and(eq(members.orgId, apiKeys.orgId), eq(members.userId, apiKeys.createdBy)))
    .where(eq(apiKeys.digest, sql.placeholder("digest")))
    .limit(1)
    .prepare("tollgate_key_by_digest");
  return async (digest: string) => (await q.execute({ digest }))[0] ?? null;
}

export type KeyLookupRow = NonNullable<Awaited<ReturnType<ReturnType<typeof prepareKeyLookup>>>>;

/**
 * Writes batched last-used times in one statement. Times only move forward,
 * so a late or repeated flush never rewinds them.
 */
export async function touchLastUsed(db: DbOrTx, entries: Array<{ keyId: string; at: Date }>): Promise<void> {
  if (entries.length === 0) return;
  const values = sql.join(
    entries.map((e) => sql`(${e.keyId}, ${e.at.toISOString()}::timestamptz)`),
    sql`, `,
  );
  await db.execute(sql`
    update api_keys as k set last_used_at = v.at
    from (values ${values}) as v(id, at)
    where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.at)`);
}
