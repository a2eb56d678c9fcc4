/**
 * The delivery loop's SQL: which destinations are due, the lease of each
 * destination's loop (a `job_leases` row, as the log retention job takes),
 * the rows after a cursor, and progress saved only while the lease is held.
 */
import { and, asc, eq, gt, inArray, lte, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/db.js";
import { jobLeases, requestLogs } from "../logs/logs.schema.js";
import type { LogRow } from "../logs/logs.repo.js";
import { projects } from "../projects/projects.schema.js";
import { after, leaseName } from "./log-destinations.repo.js";
import { type LogDestinationRow, logDestinations } from "./log-destinations.schema.js";

type Rows<T> = { rows: T[] };

export interface Cursor {
  at: Date;
  /** Null: every row at `at` is behind the cursor. */
  id: string | null;
}

export type DueDestination = LogDestinationRow & { leaseHolder: string | null; leaseUntil: Date | null };

/** Every enabled destination with its lease (one query per poll, whatever the number of destinations). */
export async function enabledDestinations(db: Db): Promise<DueDestination[]> {
  const rows = await db
    .select({ d: logDestinations, holder: jobLeases.holder, until: jobLeases.leaseUntil })
    .from(logDestinations)
    .leftJoin(jobLeases, eq(jobLeases.name, sql`'log-destination:' || ${logDestinations.id}`))
    .where(eq(logDestinations.enabled, true));
  return rows.map((r) => ({ ...r.d, leaseHolder: r.holder, leaseUntil: r.until }));
}

/** Takes or renews the lease of a destination's loop; returns its end, or null when another replica holds it. */
export async function acquireLease(db: Db, id: string, holder: string, leaseMs: number): Promise<Date | null> {
  const res = (await db.execute(sql`
    insert into job_leases (name, holder, lease_until) values (${leaseName(id)}, ${holder}, now() + ${`${leaseMs} milliseconds`}::interval)
    on conflict (name) do update set holder = excluded.holder, lease_until = excluded.lease_until
      where job_leases.lease_until <= now() or job_leases.holder = excluded.holder
    returning lease_until`)) as unknown as Rows<{ lease_until: string | Date }>;
  const until = res.rows[0]?.lease_until;
  return until === undefined ? null : new Date(until);
}

/** Hands the lease back (shutdown): another replica may take the destination at once. */
export async function releaseLease(db: Db, id: string, holder: string): Promise<void> {
  await db.execute(sql`update job_leases set lease_until = now() where name = ${leaseName(id)} and holder = ${holder}`);
}

/**
 * Up to `limit` rows of the org after `cursor` with created_at ≤ `horizon`, oldest first: those that
 * ran at most `quickMs` (quick) or longer (long). One range of the (org_id, created_at) index.
 */
export async function readRows(
  db: Db,
  q: { orgId: string; cursor: Cursor; horizon: Date; quick: boolean; quickMs: number; limit: number },
): Promise<LogRow[]> {
  return db
    .select()
    .from(requestLogs)
    .where(
      and(
        eq(requestLogs.orgId, q.orgId),
        after(q.cursor.at, q.cursor.id),
        lte(requestLogs.createdAt, q.horizon),
        q.quick ? lte(requestLogs.latencyMs, q.quickMs) : gt(requestLogs.latencyMs, q.quickMs),
      ),
    )
    .orderBy(asc(requestLogs.createdAt), sql`${requestLogs.id} collate "C"`)
    .limit(q.limit);
}

export async function projectSlugs(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: projects.id, slug: projects.slug })
    .from(projects)
    .where(inArray(projects.id, ids));
  return new Map(rows.map((r) => [r.id, r.slug]));
}

const leaseHeld = (id: string, holder: string) =>
  sql`exists (select 1 from job_leases where name = ${leaseName(id)} and holder = ${holder} and lease_until > now())`;

const atCursor = (atCol: SQL, idCol: SQL, c: Cursor) =>
  c.id === null
    ? sql`${atCol} = ${c.at.toISOString()}::timestamptz and ${idCol} is null`
    : sql`${atCol} = ${c.at.toISOString()}::timestamptz and ${idCol} = ${c.id}`;

/**
 * Moves the cursors past a batch, delivered (`delivered` rows) or dead-lettered (`deadLettered` rows,
 * with the error), and clears the failure state. Only while `holder` holds the lease and the cursors are
 * still where `from` says (nobody else moved them): false otherwise.
 */
export async function saveProgress(
  db: Db,
  id: string,
  holder: string,
  from: { cursor: Cursor; longCursor: Cursor },
  p: { cursor: Cursor; longCursor: Cursor; delivered: number; deadLettered: number; error?: string },
): Promise<boolean> {
  const d = logDestinations;
  const rows = await db
    .update(logDestinations)
    .set({
      cursorAt: p.cursor.at,
      cursorId: p.cursor.id,
      longCursorAt: p.longCursor.at,
      longCursorId: p.longCursor.id,
      deliveredRows: sql`${logDestinations.deliveredRows} + ${p.delivered}`,
      deadLetteredRows: sql`${logDestinations.deadLetteredRows} + ${p.deadLettered}`,
      ...(p.delivered > 0 ? { lastDeliveryAt: sql`now()` } : {}),
      ...(p.deadLettered > 0 ? { deadLetteredBatches: sql`${logDestinations.deadLetteredBatches} + 1` } : {}),
      ...(p.error ? { lastError: p.error, lastErrorAt: sql`now()` } : {}),
      failures: 0,
      failingSince: null,
      nextAttemptAt: null,
    })
    .where(
      and(
        eq(d.id, id),
        leaseHeld(id, holder),
        atCursor(sql`${d.cursorAt}`, sql`${d.cursorId}`, from.cursor),
        atCursor(sql`${d.longCursorAt}`, sql`${d.longCursorId}`, from.longCursor),
      ),
    )
    .returning({ id: logDestinations.id });
  return rows.length > 0;
}

/** Records a failed attempt and when the next one is due. Only while `holder` holds the lease. */
export async function recordFailure(
  db: Db,
  id: string,
  holder: string,
  f: { error: string; failures: number; failingSince: Date; nextAttemptAt: Date },
): Promise<boolean> {
  const rows = await db
    .update(logDestinations)
    .set({
      lastError: f.error,
      lastErrorAt: sql`now()`,
      failures: f.failures,
      failingSince: f.failingSince,
      nextAttemptAt: f.nextAttemptAt,
    })
    .where(and(eq(logDestinations.id, id), leaseHeld(id, holder)))
    .returning({ id: logDestinations.id });
  return rows.length > 0;
}
