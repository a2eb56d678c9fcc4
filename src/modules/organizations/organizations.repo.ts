/** SQL for organizations and per-user state. Every read of org data is scoped by org id or by the caller's membership. */
import { and, asc, eq, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import type { Membership } from "../../platform/auth/guard.js";
import type { Role } from "../../platform/permissions.js";
import { members, organizations, userState } from "./organizations.schema.js";

export type OrgRow = typeof organizations.$inferSelect;

export async function findMembership(db: DbOrTx, orgSlug: string, userId: string): Promise<Membership | null> {
  const [row] = await db
    .select({
      orgId: organizations.id,
      orgSlug: organizations.slug,
      role: members.role,
      requireTwoFactor: organizations.requireTwoFactor,
      requireSso: organizations.requireSso,
    })
    .from(organizations)
    .innerJoin(members, and(eq(members.orgId, organizations.id), eq(members.userId, userId)))
    .where(eq(organizations.slug, orgSlug))
    .limit(1);
  return row ?? null;
}

export async function listForUser(db: DbOrTx, userId: string): Promise<Array<OrgRow & { role: Role }>> {
  const rows = await db
    .select({ org: organizations, role: members.role })
    .from(members)
    .innerJoin(organizations, eq(organizations.id, members.orgId))
    .where(eq(members.userId, userId))
    .orderBy(asc(organizations.createdAt));
  return rows.map((r) => ({ ...r.org, role: r.role }));
}

export async function getById(db: DbOrTx, orgId: string): Promise<OrgRow | null> {
  const [row] = await db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return row ?? null;
}

export async function slugExists(db: DbOrTx, slug: string): Promise<boolean> {
  const [row] = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.slug, slug))
    .limit(1);
  return !!row;
}

export async function insertOrg(tx: DbOrTx, org: typeof organizations.$inferInsert): Promise<OrgRow> {
  const [row] = await tx.insert(organizations).values(org).returning();
  return row!;
}

export async function updateOrg(
  tx: DbOrTx,
  orgId: string,
  patch: { name?: string; description?: string; slug?: string },
): Promise<OrgRow> {
  const [row] = await tx
    .update(organizations)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(organizations.id, orgId))
    .returning();
  return row!;
}

export async function setRequireTwoFactor(tx: DbOrTx, orgId: string, required: boolean): Promise<OrgRow> {
  const [row] = await tx
    .update(organizations)
    .set({ requireTwoFactor: required, updatedAt: sql`now()` })
    .where(eq(organizations.id, orgId))
    .returning();
  return row!;
}

export async function userHasTwoFactor(db: DbOrTx, userId: string): Promise<boolean> {
  const [row] = await db.select({ on: users.twoFactorEnabled }).from(users).where(eq(users.id, userId)).limit(1);
  return row?.on === true;
}

export async function deleteOrg(tx: DbOrTx, orgId: string): Promise<void> {
  await tx.delete(organizations).where(eq(organizations.id, orgId));
}

export async function getActiveOrgId(db: DbOrTx, userId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: userState.activeOrgId })
    .from(userState)
    .where(eq(userState.userId, userId))
    .limit(1);
  return row?.id ?? null;
}

export async function setActiveOrgId(db: DbOrTx, userId: string, orgId: string): Promise<void> {
  await db
    .insert(userState)
    .values({ userId, activeOrgId: orgId })
    .onConflictDoUpdate({ target: userState.userId, set: { activeOrgId: orgId, updatedAt: sql`now()` } });
}
