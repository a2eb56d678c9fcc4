/**
 * Request-log upkeep, in the background of every replica:
 *  - partitions: `request_logs` is partitioned by UTC month (migration 0009);
 *    this month's and the next two months' partitions are created ahead;
 *  - retention: each project keeps its logs for `log_retention_days` (null:
 *    the instance default `TOLLGATE_LOG_RETENTION_DAYS`; 0 there: forever).
 *    Expired rows are deleted in bounded batches along the (project, time)
 *    index; a month partition older than every project's retention is
 *    dropped whole;
 *  - stored Responses API responses past their expiry are deleted.
 * Safe with many replicas: a run starts only on the replica that wins the
 * job's lease (a conditional UPDATE of `job_leases`); a replica that dies
 * mid-run loses the lease when it expires. Deletes are idempotent, so even an
 * overlap could only repeat work, never lose more than the retention says.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { newId } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";

export interface RetentionReport {
  /** False when another replica holds the lease (nothing was done here). */
  ran: boolean;
  partitionsCreated: number;
  partitionsDropped: string[];
  rowsDeleted: number;
  projects: number;
  /** Stored Responses API responses past their expiry, deleted. */
  storedResponsesDeleted: number;
}

export interface LogMaintenanceOptions {
  db: Db;
  log: Pick<Logger, "info" | "warn" | "error">;
  /** Instance default retention in days for projects without their own; 0 keeps logs forever. */
  defaultRetentionDays: number;
  intervalMs?: number;
  /** Rows per DELETE statement. */
  batchSize?: number;
  leaseMs?: number;
}

const JOB = "request-log-retention";
type Rows<T> = { rows: T[] };

export function createLogMaintenance(opts: LogMaintenanceOptions) {
  const holder = newId();
  const batchSize = opts.batchSize ?? 5_000;
  const leaseMs = opts.leaseMs ?? 10 * 60_000;
  let running: Promise<RetentionReport> | null = null;
  let closed = false;

  async function acquire(): Promise<boolean> {
    const res = (await opts.db.execute(sql`
      insert into job_leases (name, holder, lease_until) values (${JOB}, ${holder}, now() + ${`${leaseMs} milliseconds`}::interval)
      on conflict (name) do update set holder = excluded.holder, lease_until = excluded.lease_until
        where job_leases.lease_until <= now() or job_leases.holder = excluded.holder
      returning name`)) as unknown as Rows<{ name: string }>;
    return res.rows.length > 0;
  }

  async function release(report: RetentionReport) {
    await opts.db.execute(sql`
      update job_leases set lease_until = now(), last_run_at = now(), last_result = ${JSON.stringify(report)}::jsonb
      where name = ${JOB} and holder = ${holder}`);
  }

  async function runUnlocked(now: Date): Promise<RetentionReport> {
    const report: RetentionReport = {
      ran: true,
      partitionsCreated: 0,
      partitionsDropped: [],
      rowsDeleted: 0,
      projects: 0,
      storedResponsesDeleted: 0,
    };
    // Partitions ahead: this month and the next two (rows never have to wait for one).
    for (let i = 0; i <= 2; i++) {
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
      const res = (await opts.db.execute(
        sql`select tollgate_request_logs_partition(${month.toISOString()}::timestamptz) as created`,
      )) as unknown as Rows<{ created: boolean }>;
      if (res.rows[0]?.created) report.partitionsCreated++;
    }

    // Per-project retention: the effective days of every project that has a limit.
    const projects = (await opts.db.execute(sql`
      select id, coalesce(log_retention_days, ${opts.defaultRetentionDays})::int as days from projects
      where coalesce(log_retention_days, ${opts.defaultRetentionDays}) > 0`)) as unknown as Rows<{
      id: string;
      days: number;
    }>;
    report.projects = projects.rows.length;
    for (const p of projects.rows) {
      const cutoff = new Date(now.getTime() - p.days * 86_400_000);
      for (;;) {
        if (closed) return report;
        const res = (await opts.db.execute(sql`
          with doomed as (
            select id, created_at from request_logs where project_id = ${p.id} and created_at < ${cutoff.toISOString()}::timestamptz limit ${batchSize}
          )
          delete from request_logs r using doomed d where r.id = d.id and r.created_at = d.created_at
          returning 1 as x`)) as unknown as Rows<{ x: number }>;
        report.rowsDeleted += res.rows.length;
        if (res.rows.length < batchSize) break;
      }
    }

    // Stored responses past their expiry (reads already skip them).
    for (;;) {
      if (closed) return report;
      const res = (await opts.db.execute(sql`
        delete from stored_responses where id in (
          select id from stored_responses where expires_at <= ${now.toISOString()}::timestamptz limit ${batchSize})
        returning 1 as x`)) as unknown as Rows<{ x: number }>;
      report.storedResponsesDeleted += res.rows.length;
      if (res.rows.length < batchSize) break;
    }

    // Whole months older than every project's retention (only when no project keeps logs forever).
    const forever = (await opts.db.execute(sql`
      select count(*)::int as n from projects where coalesce(log_retention_days, ${opts.defaultRetentionDays}) <= 0`)) as unknown as Rows<{
      n: number;
    }>;
    if ((forever.rows[0]?.n ?? 0) === 0) {
      const longest = (await opts.db.execute(
        sql`select coalesce(max(coalesce(log_retention_days, ${opts.defaultRetentionDays})), 0)::int as days from projects`,
      )) as unknown as Rows<{ days: number }>;
      const keepFrom = new Date(now.getTime() - (longest.rows[0]?.days ?? 0) * 86_400_000);
      const parts = (await opts.db.execute(sql`
        select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'request_logs'::regclass and c.relname ~ '^request_logs_p[0-9]{4}_[0-9]{2}$'`)) as unknown as Rows<{
        name: string;
      }>;
      for (const { name } of parts.rows) {
        const [y, m] = name.slice("request_logs_p".length).split("_").map(Number);
        const end = new Date(Date.UTC(y!, m!, 1)); // first instant after the month
        if (end.getTime() <= keepFrom.getTime()) {
          await opts.db.execute(sql.raw(`drop table if exists "${name}"`));
          report.partitionsDropped.push(name);
        }
      }
    }
    return report;
  }

  /** One run now (if this replica wins the lease). */
  function runOnce(now = new Date()): Promise<RetentionReport> {
    running ??= (async () => {
      try {
        if (!(await acquire()))
          return {
            ran: false,
            partitionsCreated: 0,
            partitionsDropped: [],
            rowsDeleted: 0,
            projects: 0,
            storedResponsesDeleted: 0,
          };
        const report = await runUnlocked(now);
        await release(report);
        if (report.rowsDeleted > 0 || report.partitionsDropped.length > 0 || report.storedResponsesDeleted > 0)
          opts.log.info({ ...report }, "request-log retention");
        return report;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  const tick = () => {
    if (closed) return;
    runOnce().catch((err) =>
      opts.log.warn({ err: (err as Error).message }, "request-log retention run failed; retried at the next interval"),
    );
  };
  const first = setTimeout(tick, 30_000);
  const timer = setInterval(tick, opts.intervalMs ?? 10 * 60_000);
  first.unref();
  timer.unref();

  return {
    runOnce,
    async close() {
      closed = true;
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
