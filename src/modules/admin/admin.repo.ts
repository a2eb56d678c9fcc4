/**
 * The operator console's SQL. Unlike every other repo, the list reads across
 * organizations: it serves the instance operator, whom the route guard alone
 * admits. Writes touch one organization, named by id.
 */
import { asc, eq, gte, ilike, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { billingAccounts, billingUsageHourly } from "../billing/billing.schema.js";
import { members, organizations } from "../organizations/organizations.schema.js";
import { disabledOrganizations } from "./admin.schema.js";

export type DisabledRow = typeof disabledOrganizations.$inferSelect;

/** Organizations (newest last) with balance, usage since `since`, member count and disabled state. */
export async function listOrganizations(db: DbOrTx, q: { since: Date; search?: string; limit: number }) {
  const memberCount = db
    .select({ orgId: members.orgId, n: sql<number>`count(*)::int`.as("n") })
    .from(members)
    .groupBy(members.orgId)
    .as("member_count");
  const usage = db
    .select({
      orgId: billingUsageHourly.orgId,
      cost: sql<string>`sum(${billingUsageHourly.costMicroUsd})::text`.as("cost"),
    })
    .from(billingUsageHourly)
    .where(gte(billingUsageHourly.hour, q.since))
    .groupBy(billingUsageHourly.orgId)
    .as("month_usage");
  const pattern = q.search ? `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  return db
    .select({
      org: organizations,
      members: sql<number>`coalesce(${memberCount.n}, 0)`,
      balance: sql<string>`coalesce(${billingAccounts.balanceMicroUsd}, 0)::text`,
      monthUsage: sql<string>`coalesce(${usage.cost}, '0')`,
      disabled: disabledOrganizations,
    })
    .from(organizations)
    .leftJoin(memberCount, eq(memberCount.orgId, organizations.id))
    .leftJoin(usage, eq(usage.orgId, organizations.id))
    .leftJoin(billingAccounts, eq(billingAccounts.orgId, organizations.id))
    .leftJoin(disabledOrganizations, eq(disabledOrganizations.orgId, organizations.id))
    .where(pattern ? or(ilike(organizations.slug, pattern), ilike(organizations.name, pattern)) : undefined)
    .orderBy(asc(organizations.createdAt), asc(organizations.id))
    .limit(q.limit);
}

export async function orgBySlug(db: DbOrTx, slug: string) {
  const [row] = await db
    .select({ id: organizations.id, slug: organizations.slug })
    .from(organizations)
    .where(eq(organizations.slug, slug));
  return row ?? null;
}

export async function disabledState(db: DbOrTx, orgId: string): Promise<DisabledRow | null> {
  const [row] = await db.select().from(disabledOrganizations).where(eq(disabledOrganizations.orgId, orgId));
  return row ?? null;
}

/** Marks the organization disabled; false when it already was (the first reason stays). */
export async function insertDisabled(
  db: DbOrTx,
  row: { orgId: string; disabledBy: string | null; disabledByEmail: string; reason: string },
): Promise<boolean> {
  const inserted = await db
    .insert(disabledOrganizations)
    .values(row)
    .onConflictDoNothing()
    .returning({ orgId: disabledOrganizations.orgId });
  return inserted.length > 0;
}

/** Enables the organization; false when it was not disabled. */
export async function deleteDisabled(db: DbOrTx, orgId: string): Promise<boolean> {
  const deleted = await db
    .delete(disabledOrganizations)
    .where(eq(disabledOrganizations.orgId, orgId))
    .returning({ orgId: disabledOrganizations.orgId });
  return deleted.length > 0;
}

export async function disabledOrgIds(db: DbOrTx): Promise<string[]> {
  const rows = await db.select({ orgId: disabledOrganizations.orgId }).from(disabledOrganizations);
  return rows.map((r) => r.orgId);
}
