/** SQL for request logs, always scoped by organization and project. Cursor = (created_at, id), newest first. */
import { and, desc, eq, gte, ilike, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { type LogsQuery, requestLogs } from "./logs.schema.js";

export type LogRow = typeof requestLogs.$inferSelect;

export function encodeCursor(row: Pick<LogRow, "createdAt" | "id">): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { at: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const date = at ? new Date(at) : null;
  return date && !Number.isNaN(date.getTime()) && id ? { at: date, id } : null;
}

export function filters(
  orgId: string,
  projectId: string,
  q: Omit<LogsQuery, "limit" | "cursor"> & { cursor?: string },
): SQL[] | null {
  const where: SQL[] = [eq(requestLogs.orgId, orgId), eq(requestLogs.projectId, projectId)];
  if (q.from) where.push(gte(requestLogs.createdAt, new Date(q.from)));
  if (q.to) where.push(lte(requestLogs.createdAt, new Date(q.to)));
  if (q.outcome) where.push(eq(requestLogs.outcome, q.outcome));
  if (typeof q.status === "number") where.push(eq(requestLogs.status, q.status));
  else if (q.status) {
    const base = Number(q.status[0]) * 100;
    where.push(gte(requestLogs.status, base), lt(requestLogs.status, base + 100));
  }
  // An unpriced request (an error, a free model) costs 0.
  const cost = sql`coalesce(${requestLogs.costMicroUsd}, 0)`;
  if (q.minCostUsd !== undefined) where.push(sql`${cost} >= ${q.minCostUsd.toString()}::bigint`);
  if (q.maxCostUsd !== undefined) where.push(sql`${cost} <= ${q.maxCostUsd.toString()}::bigint`);
  if (q.minLatencyMs !== undefined) where.push(gte(requestLogs.latencyMs, q.minLatencyMs));
  if (q.maxLatencyMs !== undefined) where.push(lte(requestLogs.latencyMs, q.maxLatencyMs));
  if (q.model) where.push(or(eq(requestLogs.modelServed, q.model), eq(requestLogs.modelRequested, q.model))!);
  if (q.provider) where.push(eq(requestLogs.provider, q.provider));
  if (q.keyId) where.push(eq(requestLogs.keyId, q.keyId));
  if (q.tag) where.push(sql`${requestLogs.tags} @> ${JSON.stringify([q.tag])}::jsonb`);
  if (q.user) where.push(eq(requestLogs.userField, q.user));
  if (q.q) {
    const pattern = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      or(
        ilike(requestLogs.modelServed, pattern),
        ilike(requestLogs.errorCode, pattern),
        sql`${requestLogs.requestBody}::text ilike ${pattern}`,
        sql`${requestLogs.responseBody}::text ilike ${pattern}`,
      )!,
    );
  }
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    if (!c) return null;
    where.push(or(lt(requestLogs.createdAt, c.at), and(eq(requestLogs.createdAt, c.at), lt(requestLogs.id, c.id)))!);
  }
  return where;
}

export async function page(db: DbOrTx, where: SQL[], limit: number): Promise<LogRow[]> {
  return db
    .select()
    .from(requestLogs)
    .where(and(...where))
    .orderBy(desc(requestLogs.createdAt), desc(requestLogs.id))
    .limit(limit);
}

export async function getOne(db: DbOrTx, orgId: string, projectId: string, id: string): Promise<LogRow | null> {
  const [row] = await db
    .select()
    .from(requestLogs)
    .where(and(eq(requestLogs.orgId, orgId), eq(requestLogs.projectId, projectId), eq(requestLogs.id, id)))
    .limit(1);
  return row ?? null;
}

export async function usageByDayModel(db: DbOrTx, orgId: string, projectId: string, from: Date, to: Date) {
  const day = sql<string>`to_char(date_trunc('day', ${requestLogs.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`;
  return db
    .select({
      day,
      model: requestLogs.modelServed,
      requests: sql<number>`count(*)::int`,
      errors: sql<number>`count(*) filter (where ${requestLogs.outcome} <> 'ok')::int`,
      inputTokens: sql<number>`coalesce(sum(${requestLogs.inputTokens}), 0)::bigint`,
      cachedInputTokens: sql<number>`coalesce(sum(${requestLogs.cachedInputTokens}), 0)::bigint`,
      outputTokens: sql<number>`coalesce(sum(${requestLogs.outputTokens}), 0)::bigint`,
      costMicroUsd: sql<string>`coalesce(sum(${requestLogs.costMicroUsd}), 0)::text`,
      cacheHits: sql<number>`count(*) filter (where ${requestLogs.cache} = 'hit')::int`,
      cacheMisses: sql<number>`count(*) filter (where ${requestLogs.cache} = 'miss')::int`,
      p50: sql<number | null>`percentile_cont(0.5) within group (order by ${requestLogs.latencyMs})`,
      p95: sql<number | null>`percentile_cont(0.95) within group (order by ${requestLogs.latencyMs})`,
    })
    .from(requestLogs)
    .where(
      and(
        eq(requestLogs.orgId, orgId),
        eq(requestLogs.projectId, projectId),
        gte(requestLogs.createdAt, from),
        lt(requestLogs.createdAt, to),
      ),
    )
    .groupBy(day, requestLogs.modelServed)
    .orderBy(day, requestLogs.modelServed);
}
