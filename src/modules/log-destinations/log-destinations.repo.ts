/** SQL for log destinations, scoped by organization (the delivery loop's own statements are in log-destinations.stream.ts). */
import { and, asc, count, eq, gt, gte, lte, or, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { requestLogs } from "../logs/logs.schema.js";
import { type LogDestinationRow, logDestinations } from "./log-destinations.schema.js";

export async function listDestinations(db: DbOrTx, orgId: string): Promise<LogDestinationRow[]> {
  return db
    .select()
    .from(logDestinations)
    .where(eq(logDestinations.orgId, orgId))
    .orderBy(asc(logDestinations.createdAt), asc(logDestinations.id));
}

export async function getDestination(db: DbOrTx, orgId: string, id: string): Promise<LogDestinationRow | null> {
  const [row] = await db
    .select()
    .from(logDestinations)
    .where(and(eq(logDestinations.orgId, orgId), eq(logDestinations.id, id)))
    .limit(1);
  return row ?? null;
}

export async function countDestinations(db: DbOrTx, orgId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(logDestinations).where(eq(logDestinations.orgId, orgId));
  return Number(row?.n ?? 0);
}

export async function insertDestination(
  db: DbOrTx,
  row: typeof logDestinations.$inferInsert,
): Promise<LogDestinationRow> {
  const [saved] = await db.insert(logDestinations).values(row).returning();
  return saved!;
}

/** Pauses or resumes; resuming clears the backoff so the next poll tries at once. */
export async function setEnabled(
  db: DbOrTx,
  orgId: string,
  id: string,
  enabled: boolean,
): Promise<LogDestinationRow | null> {
  const [row] = await db
    .update(logDestinations)
    .set(enabled ? { enabled, nextAttemptAt: null } : { enabled })
    .where(and(eq(logDestinations.orgId, orgId), eq(logDestinations.id, id)))
    .returning();
  return row ?? null;
}

export async function deleteDestination(db: DbOrTx, orgId: string, id: string): Promise<LogDestinationRow | null> {
  const [row] = await db
    .delete(logDestinations)
    .where(and(eq(logDestinations.orgId, orgId), eq(logDestinations.id, id)))
    .returning();
  if (row) await db.execute(sql`delete from job_leases where name = ${leaseName(row.id)}`);
  return row ?? null;
}

/** The job_leases row of a destination's delivery loop. */
export const leaseName = (id: string) => `log-destination:${id}`;

/** Rows strictly after a cursor position (`id` null: after every row at `at`), in the C collation like the ordering. */
export function after(at: Date, id: string | null): SQL {
  if (id === null) return gt(requestLogs.createdAt, at);
  // The `>=` bound is what the (org_id, created_at) index range uses.
  return and(
    gte(requestLogs.createdAt, at),
    or(gt(requestLogs.createdAt, at), sql`${requestLogs.id} collate "C" > ${id}`),
  )!;
}

const BACKLOG_CAP = 100_000;

/** Rows of the org not yet delivered: quick ones after the main cursor, long ones after the long cursor (capped). */
export async function backlog(db: DbOrTx, d: LogDestinationRow, quickMs: number): Promise<number> {
  const part = async (cursor: SQL, quick: boolean) => {
    const latency = quick ? lte(requestLogs.latencyMs, quickMs) : gt(requestLogs.latencyMs, quickMs);
    const inner = db
      .select({ one: sql`1` })
      .from(requestLogs)
      .where(and(eq(requestLogs.orgId, d.orgId), cursor, latency))
      .limit(BACKLOG_CAP)
      .as("pending");
    const [row] = await db.select({ n: count() }).from(inner);
    return Number(row?.n ?? 0);
  };
  const [quick, long] = await Promise.all([
    part(after(d.cursorAt, d.cursorId), true),
    part(after(d.longCursorAt, d.longCursorId), false),
  ]);
  return Math.min(BACKLOG_CAP, quick + long);
}
