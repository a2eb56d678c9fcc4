/**
 * Usage reconciliation for `tollgate billing verify` (read-only SQL over every
 * organization; an operator command, not a request path). Two checks:
 *  1. ledger usage = `billing_usage_hourly` cost, per org and per project, all
 *     time. Both are written by the same flush transaction, so they are equal
 *     at every commit — no lag, and deleted projects included.
 *  2. ledger usage = Σ `request_logs.cost_micro_usd`, per project and per org,
 *     over the hours both cover. A request is charged to the hour it started
 *     (the log's `created_at`), so ledger hours and log hours line up exactly.
 *     Compared hours must be complete: they end before `through` (default:
 *     now − 10 minutes, rounded down to the hour — longer than a request may
 *     run plus both writers' flush intervals). Logs disappear with their
 *     project (not compared: the ledger keeps the money trail) and may be
 *     trimmed by retention: when a project has usage before its oldest log, or
 *     fewer logs than charged requests in that hour, the oldest log's hour is
 *     partial and comparison starts at the next hour.
 */
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";

export const DEFAULT_LAG_MS = 10 * 60_000;
const HOUR = 3_600_000;

interface HourRow {
  hour: number;
  ledger: bigint;
  ledgerRequests: number;
  hourly: bigint;
  hourlyRequests: number;
  logs: bigint;
  logCount: number;
}

export interface ProjectReconcile {
  orgId: string;
  orgSlug: string | null;
  projectId: string;
  projectSlug: string | null;
  /** All time. */
  ledgerMicroUsd: bigint;
  hourlyMicroUsd: bigint;
  /** Over [from, through): null when the logs were not compared. */
  from: Date | null;
  through: Date;
  ledgerInWindowMicroUsd: bigint;
  logsInWindowMicroUsd: bigint;
  hoursCompared: number;
  /** Why logs were not compared (deleted project or organization, no complete hour with logs). */
  skipped: string | null;
  /** Hours where ledger and logs differ (first few). */
  differingHours: Array<{ hour: Date; ledgerMicroUsd: bigint; logsMicroUsd: bigint }>;
  hourlyOk: boolean;
  logsOk: boolean;
}

type Rows<T> = { rows: T[] };

export async function reconcileUsage(db: DbOrTx, opts: { through?: Date } = {}): Promise<ProjectReconcile[]> {
  const through = new Date(Math.floor((opts.through ?? new Date(Date.now() - DEFAULT_LAG_MS)).getTime() / HOUR) * HOUR);
  const ledger = (await db.execute(sql`
    select org_id, project_id, extract(epoch from period_start)::bigint * 1000 as hour, (-sum(amount_micro_usd))::text as amount, coalesce(sum(requests), 0)::int as requests
    from ledger_entries where kind = 'usage' group by 1, 2, 3`)) as unknown as Rows<{
    org_id: string;
    project_id: string | null;
    hour: string;
    amount: string;
    requests: number;
  }>;
  const hourly = (await db.execute(sql`
    select org_id, project_id, extract(epoch from hour)::bigint * 1000 as hour, sum(cost_micro_usd)::text as cost, sum(requests)::int as requests
    from billing_usage_hourly group by 1, 2, 3`)) as unknown as Rows<{
    org_id: string;
    project_id: string;
    hour: string;
    cost: string;
    requests: number;
  }>;
  const logs = (await db.execute(sql`
    select org_id, project_id, extract(epoch from date_trunc('hour', created_at))::bigint * 1000 as hour, coalesce(sum(cost_micro_usd), 0)::text as cost, count(*)::int as n
    from request_logs where created_at < ${through.toISOString()} group by 1, 2, 3`)) as unknown as Rows<{
    org_id: string;
    project_id: string;
    hour: string;
    cost: string;
    n: number;
  }>;
  const names = (await db.execute(sql`
    select p.id as project_id, p.slug as project_slug, o.id as org_id, o.slug as org_slug
    from projects p join organizations o on o.id = p.org_id`)) as unknown as Rows<{
    project_id: string;
    project_slug: string;
    org_id: string;
    org_slug: string;
  }>;
  const orgs = (await db.execute(sql`select id, slug from organizations`)) as unknown as Rows<{
    id: string;
    slug: string;
  }>;

  const projects = new Map<string, { orgId: string; projectId: string; hours: Map<number, HourRow> }>();
  const at = (orgId: string, projectId: string, hour: string | number): HourRow => {
    const k = `${orgId}\u0000${projectId}`;
    let p = projects.get(k);
    if (!p) {
      p = { orgId, projectId, hours: new Map() };
      projects.set(k, p);
    }
    const h = Number(hour);
    let r = p.hours.get(h);
    if (!r) {
      r = { hour: h, ledger: 0n, ledgerRequests: 0, hourly: 0n, hourlyRequests: 0, logs: 0n, logCount: 0 };
      p.hours.set(h, r);
    }
    return r;
  };
  for (const r of ledger.rows) {
    const row = at(r.org_id, r.project_id ?? "(none)", r.hour ?? 0);
    row.ledger += BigInt(r.amount);
    row.ledgerRequests += Number(r.requests);
  }
  for (const r of hourly.rows) {
    const row = at(r.org_id, r.project_id, r.hour);
    row.hourly += BigInt(r.cost);
    row.hourlyRequests += Number(r.requests);
  }
  for (const r of logs.rows) {
    const row = at(r.org_id, r.project_id, r.hour);
    row.logs += BigInt(r.cost);
    row.logCount += Number(r.n);
  }
  const projectNames = new Map(names.rows.map((n) => [n.project_id, n]));
  const orgSlugs = new Map(orgs.rows.map((o) => [o.id, o.slug]));

  const out: ProjectReconcile[] = [];
  for (const p of projects.values()) {
    const hours = [...p.hours.values()].sort((a, b) => a.hour - b.hour);
    const sum = (f: (h: HourRow) => bigint, rows = hours) => rows.reduce((s, h) => s + f(h), 0n);
    const name = projectNames.get(p.projectId);
    const r: ProjectReconcile = {
      orgId: p.orgId,
      orgSlug: orgSlugs.get(p.orgId) ?? null,
      projectId: p.projectId,
      projectSlug: name && name.org_id === p.orgId ? name.project_slug : null,
      ledgerMicroUsd: sum((h) => h.ledger),
      hourlyMicroUsd: sum((h) => h.hourly),
      from: null,
      through,
      ledgerInWindowMicroUsd: 0n,
      logsInWindowMicroUsd: 0n,
      hoursCompared: 0,
      skipped: null,
      differingHours: [],
      hourlyOk: true,
      logsOk: true,
    };
    r.hourlyOk = r.ledgerMicroUsd === r.hourlyMicroUsd;
    if (r.orgSlug === null) r.skipped = "organization deleted (its logs went with it)";
    else if (r.projectSlug === null) r.skipped = "project deleted (its logs went with it)";
    else {
      const withLogs = hours.find((h) => h.logCount > 0);
      if (!withLogs) {
        // Charged usage in complete hours without a single log row: logs were lost (or all trimmed).
        const charged = hours.filter((h) => h.hour + HOUR <= through.getTime() && h.ledger !== 0n);
        if (charged.length > 0) {
          r.logsOk = false;
          r.from = new Date(charged[0]!.hour);
          r.ledgerInWindowMicroUsd = sum((h) => h.ledger, charged);
          r.hoursCompared = charged.length;
          r.differingHours = charged
            .slice(0, 5)
            .map((h) => ({ hour: new Date(h.hour), ledgerMicroUsd: h.ledger, logsMicroUsd: 0n }));
        } else r.skipped = "no complete hour with request logs yet";
      } else {
        const usageBefore = hours.some((h) => h.hour < withLogs.hour && (h.hourlyRequests > 0 || h.ledger !== 0n));
        const partial = usageBefore || withLogs.logCount < withLogs.hourlyRequests;
        const from = partial ? withLogs.hour + HOUR : withLogs.hour;
        const window = hours.filter((h) => h.hour >= from && h.hour + HOUR <= through.getTime());
        if (window.length === 0) r.skipped = "no complete hour with request logs yet";
        else {
          r.from = new Date(from);
          r.hoursCompared = window.length;
          r.ledgerInWindowMicroUsd = sum((h) => h.ledger, window);
          r.logsInWindowMicroUsd = sum((h) => h.logs, window);
          r.differingHours = window
            .filter((h) => h.ledger !== h.logs)
            .slice(0, 5)
            .map((h) => ({ hour: new Date(h.hour), ledgerMicroUsd: h.ledger, logsMicroUsd: h.logs }));
          r.logsOk = r.differingHours.length === 0;
        }
      }
    }
    out.push(r);
  }
  return out.sort(
    (a, b) =>
      (a.orgSlug ?? `~${a.orgId}`).localeCompare(b.orgSlug ?? `~${b.orgId}`) ||
      (a.projectSlug ?? `~${a.projectId}`).localeCompare(b.projectSlug ?? `~${b.projectId}`),
  );
}
