/**
 * Usage reports grouped by one dimension (`GET …/billing/usage?groupBy=`): by
 * tag and end user from `billing_usage_dims_hourly`, by day, project, model and
 * key from `billing_usage_hourly`, with the period's totals. Always scoped by
 * organization; hours in [from, to).
 */
import { and, asc, eq, gte, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { apiKeys } from "../keys/keys.schema.js";
import { projects } from "../projects/projects.schema.js";
import { billingUsageDimsHourly, billingUsageHourly, type UsageGroup } from "./billing.schema.js";

/** The sums of a usage table's rows (both usage tables have these columns). */
function usageSums(t: typeof billingUsageHourly | typeof billingUsageDimsHourly) {
  return {
    requests: sql<number>`coalesce(sum(${t.requests}), 0)::int`,
    inputTokens: sql<string>`coalesce(sum(${t.inputTokens}), 0)::text`,
    cachedInputTokens: sql<string>`coalesce(sum(${t.cachedInputTokens}), 0)::text`,
    outputTokens: sql<string>`coalesce(sum(${t.outputTokens}), 0)::text`,
    costMicroUsd: sql<string>`coalesce(sum(${t.costMicroUsd}), 0)::text`,
  };
}

/** The period's usage in one row (the ledger's usage over the same hours). */
export async function usageTotals(db: DbOrTx, orgId: string, from: Date, to: Date) {
  const h = billingUsageHourly;
  const [row] = await db
    .select(usageSums(h))
    .from(h)
    .where(and(eq(h.orgId, orgId), gte(h.hour, from), lt(h.hour, to)));
  return row!;
}

/**
 * Usage grouped by one dimension: tags and end users from their own rows, the others from the
 * key × model rows. Days in order, every other grouping dearest first.
 */
export async function usageByGroup(db: DbOrTx, orgId: string, from: Date, to: Date, by: UsageGroup) {
  if (by === "tag" || by === "user") {
    const d = billingUsageDimsHourly;
    return db
      .select({ value: d.value, label: sql<string | null>`null`, ...usageSums(d) })
      .from(d)
      .where(and(eq(d.orgId, orgId), eq(d.dim, by), gte(d.hour, from), lt(d.hour, to)))
      .groupBy(d.value)
      .orderBy(sql`sum(${d.costMicroUsd}) desc`, asc(d.value));
  }
  const h = billingUsageHourly;
  const where = and(eq(h.orgId, orgId), gte(h.hour, from), lt(h.hour, to));
  const sums = usageSums(h);
  const dearest = [sql`sum(${h.costMicroUsd}) desc`] as const;
  if (by === "day") {
    const day = sql<string>`to_char(date_trunc('day', ${h.hour} at time zone 'UTC'), 'YYYY-MM-DD')`;
    return db
      .select({ value: day, label: sql<string | null>`null`, ...sums })
      .from(h)
      .where(where)
      .groupBy(day)
      .orderBy(asc(day));
  }
  if (by === "project")
    return db
      .select({ value: h.projectId, label: sql<string | null>`max(${projects.slug})`, ...sums })
      .from(h)
      .leftJoin(projects, and(eq(projects.id, h.projectId), eq(projects.orgId, orgId)))
      .where(where)
      .groupBy(h.projectId)
      .orderBy(...dearest, asc(h.projectId));
  if (by === "key")
    return db
      .select({ value: h.keyId, label: sql<string | null>`max(${apiKeys.name})`, ...sums })
      .from(h)
      .leftJoin(apiKeys, and(eq(apiKeys.id, h.keyId), eq(apiKeys.orgId, orgId)))
      .where(where)
      .groupBy(h.keyId)
      .orderBy(...dearest, asc(h.keyId));
  return db
    .select({ value: h.model, label: sql<string | null>`null`, ...sums })
    .from(h)
    .where(where)
    .groupBy(h.model)
    .orderBy(...dearest, asc(h.model));
}
