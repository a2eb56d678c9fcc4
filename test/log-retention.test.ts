/**
 * Request-log storage at scale: monthly partitions and per-project retention.
 *  - gateway logs land in the partition of their month;
 *  - a project's `logRetentionDays` (or the instance default) deletes its
 *    older logs, and only its own; a month older than every project's
 *    retention is dropped whole;
 *  - stored Responses API responses are deleted once expired;
 *  - the job runs on one replica at a time (a lease in job_leases).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogMaintenance } from "../src/modules/logs/logs.retention.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { rows, team } from "./helpers/fixtures.js";

const DAY = 86_400_000;

describe(`request-log partitions and retention (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let slug: string;
  let orgId: string;
  const project: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_LOG_RETENTION_DAYS: "30" } });
    const x = await team(t, "Retention Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
    for (const name of ["short", "default"]) {
      const res = await owner.post(`/api/v1/orgs/${slug}/projects`, { name, slug: name });
      expect(res.status).toBe(201);
      project[name] = res.body.id;
    }
  });
  afterAll(() => t?.close());

  const insertLog = (projectId: string, id: string, at: Date) =>
    t.db.execute(sql`insert into request_logs (id, org_id, project_id, key_id, created_at, endpoint, status, outcome, latency_ms)
      values (${id}, ${orgId}, ${projectId}, 'k', ${at.toISOString()}::timestamptz, 'chat', 200, 'ok', 5)`);
  const logIds = async () =>
    (await rows<{ id: string }>(t, sql`select id from request_logs where org_id = ${orgId} order by id`)).map(
      (r) => r.id,
    );
  const partitions = async () =>
    (
      await rows<{ name: string }>(
        t,
        sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'request_logs'::regclass order by 1`,
      )
    ).map((r) => r.name);

  it("a project's log retention is a setting: 1–3650 days, or null for the instance default", async () => {
    const ok = await owner.patch(`/api/v1/orgs/${slug}/projects/short`, { logRetentionDays: 7 });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.logRetentionDays).toBe(7);
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/default`)).body.logRetentionDays).toBeNull();
    for (const bad of [0, -1, 1.5, 4000, "7"]) {
      const res = await owner.patch(`/api/v1/orgs/${slug}/projects/short`, { logRetentionDays: bad });
      expect(res.status).toBe(400);
    }
    expect((await owner.get(`/api/v1/orgs/${slug}/projects/short`)).body.logRetentionDays).toBe(7);
  });

  it("request logs are partitioned by month: a gateway request lands in this month's partition", async () => {
    const now = new Date();
    const month = `request_logs_p${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
    expect(await partitions()).toEqual(expect.arrayContaining([month, "request_logs_default"]));
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/default/keys`, { name: "k", environment: "test" }))
      .body.key;
    const res = await t.app.server.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      payload: { model: "mock/echo", messages: [{ role: "user", content: "hi" }] },
    });
    expect(res.statusCode).toBe(200);
    await t.app.flushLogs();
    const [row] = await rows<{ part: string }>(
      t,
      sql`select tableoid::regclass::text as part from request_logs where id = ${res.headers["x-request-id"] as string}`,
    );
    expect(row!.part).toBe(month);
    // And the log is listed as before.
    const listed = await owner.get(`/api/v1/orgs/${slug}/projects/default/logs`);
    expect(listed.body.logs.map((l: { requestId: string }) => l.requestId)).toContain(res.headers["x-request-id"]);
    await t.db.execute(sql`delete from request_logs where org_id = ${orgId}`);
  });

  it("retention deletes each project's expired logs only, and drops months older than every project's retention", async () => {
    const now = new Date();
    // An old month that has its own partition (as every past month has on a long-running server).
    const old = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 7, 15));
    const oldPart = `request_logs_p${old.getUTCFullYear()}_${String(old.getUTCMonth() + 1).padStart(2, "0")}`;
    await t.db.execute(sql`select tollgate_request_logs_partition(${old.toISOString()}::timestamptz)`);
    expect(await partitions()).toContain(oldPart);

    await insertLog(project.short!, "short-1d", new Date(now.getTime() - 1 * DAY));
    await insertLog(project.short!, "short-5d", new Date(now.getTime() - 5 * DAY));
    await insertLog(project.short!, "short-10d", new Date(now.getTime() - 10 * DAY));
    await insertLog(project.default!, "default-10d", new Date(now.getTime() - 10 * DAY));
    await insertLog(project.default!, "default-40d", new Date(now.getTime() - 40 * DAY));
    await insertLog(project.default!, "default-old", old);

    const report = await t.app.runLogRetention(now);
    expect(report.ran).toBe(true);
    // short keeps 7 days, default the instance's 30.
    expect(await logIds()).toEqual(["default-10d", "short-1d", "short-5d"]);
    expect(report.rowsDeleted).toBeGreaterThanOrEqual(3);
    // The longest retention is 30 days: the month 7 months ago goes whole.
    expect(report.partitionsDropped).toContain(oldPart);
    expect(await partitions()).not.toContain(oldPart);
    // Every partition ahead exists.
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
    expect(await partitions()).toContain(
      `request_logs_p${next.getUTCFullYear()}_${String(next.getUTCMonth() + 1).padStart(2, "0")}`,
    );
    // The run is recorded.
    const [lease] = await rows<{ last: unknown }>(
      t,
      sql`select last_result as last from job_leases where name = 'request-log-retention'`,
    );
    expect(lease!.last).toMatchObject({ ran: true });
  });

  it("stored Responses API responses past their expiry are deleted; the others stay", async () => {
    const insert = (id: string, expires: Date) =>
      t.db.execute(sql`insert into stored_responses (id, org_id, project_id, key_id, created_at, expires_at, payload)
        values (${id}, ${orgId}, ${project.short!}, 'k', now(), ${expires.toISOString()}::timestamptz, 'sealed')`);
    const now = new Date();
    await insert("resp_expired", new Date(now.getTime() - DAY));
    await insert("resp_live", new Date(now.getTime() + DAY));
    await t.db.execute(sql`update job_leases set lease_until = now() - interval '1 second'`);
    const report = await t.app.runLogRetention(now);
    expect(report.storedResponsesDeleted).toBe(1);
    const left = await rows<{ id: string }>(
      t,
      sql`select id from stored_responses where org_id = ${orgId} order by id`,
    );
    expect(left.map((r) => r.id)).toEqual(["resp_live"]);
  });

  it("a project that keeps its logs forever (instance default 0) is never trimmed and no month is dropped", async () => {
    const forever = createLogMaintenance({
      db: t.db,
      log: { info() {}, warn() {}, error() {} },
      defaultRetentionDays: 0,
      intervalMs: 3_600_000,
    });
    try {
      const now = new Date();
      await t.db.execute(sql`update job_leases set lease_until = now() - interval '1 second'`);
      await insertLog(project.default!, "default-400d", new Date(now.getTime() - 400 * DAY));
      const report = await forever.runOnce(now);
      expect(report.ran).toBe(true);
      expect(await logIds()).toContain("default-400d");
      expect(report.partitionsDropped).toEqual([]);
    } finally {
      await forever.close();
    }
  });

  it("with several replicas only one runs the job at a time (lease)", async () => {
    await t.db.execute(sql`update job_leases set lease_until = now() - interval '1 second'`);
    const quiet = { info() {}, warn() {}, error() {} };
    // Replica A's database pauses its run right after it won the lease (its second statement),
    // so B and C try while A is mid-run — whatever the timing of the connections.
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    let leased!: () => void;
    const aHoldsLease = new Promise<void>((r) => (leased = r));
    let statements = 0;
    const slowDb = new Proxy(t.db, {
      get(target, prop) {
        if (prop !== "execute") {
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return async (q: Parameters<typeof target.execute>[0]) => {
          if (++statements === 2) {
            leased();
            await paused;
          }
          return target.execute(q);
        };
      },
    });
    const a = createLogMaintenance({ db: slowDb, log: quiet, defaultRetentionDays: 30, intervalMs: 3_600_000 });
    const [b, c] = [0, 1].map(() =>
      createLogMaintenance({ db: t.db, log: quiet, defaultRetentionDays: 30, intervalMs: 3_600_000 }),
    );
    try {
      const running = a.runOnce();
      await aHoldsLease;
      const others = await Promise.all([b!.runOnce(), c!.runOnce()]);
      expect(others.map((r) => r.ran)).toEqual([false, false]);
      resume();
      expect((await running).ran).toBe(true);
      // A released the lease when done: the next run may go anywhere.
      expect((await b!.runOnce()).ran).toBe(true);
    } finally {
      resume();
      for (const r of [a, b!, c!]) await r.close();
    }
  });
});
