/**
 * Graceful shutdown of a real server process under load (reliability F2):
 * 50 live streams, then SIGTERM.
 *  - Within the drain timeout: /readyz turns 503 at once, new connections are
 *    refused once the listener closes, every stream finishes normally, the
 *    process exits 0 and every request has its log row.
 *  - Past the drain timeout: the streams still running end cleanly with a
 *    terminal `server_shutting_down` error event (never a cut connection),
 *    the process exits 0, and each is logged with what it generated.
 * Storage survives both restarts (PGlite data dir, or the PostgreSQL database).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/platform/db/db.js";
import { createPgDatabase, storageKind, TEST_DATABASE_URL } from "./helpers/database.js";
import {
  HttpClient,
  newKey,
  openStream,
  orgWithKey,
  startServerProcess,
  type ServerProcess,
} from "./helpers/server-process.js";

const STREAMS = 50;

describe(`graceful shutdown with ${STREAMS} live streams (${storageKind})`, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-shutdown-"));
  let pgdb: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  let storageEnv: Record<string, string>;
  let server: ServerProcess | undefined;
  let key: string;
  let projectId: string;
  let owner: HttpClient;
  let org: { slug: string; project: string };

  async function logRows(): Promise<
    Array<{ outcome: string; error_code: string | null; output_tokens: number; status: number }>
  > {
    const q = "select outcome, error_code, output_tokens, status from request_logs where project_id = $1";
    if (pgdb) {
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      try {
        return (await c.query(q, [projectId])).rows;
      } finally {
        await c.end();
      }
    }
    const database = await openDatabase({ dataDir });
    try {
      const res = (await database.db.execute(
        sql`select outcome, error_code, output_tokens, status from request_logs where project_id = ${projectId}`,
      )) as unknown as {
        rows: Array<{ outcome: string; error_code: string | null; output_tokens: number; status: number }>;
      };
      return res.rows;
    } finally {
      await database.close();
    }
  }

  beforeAll(async () => {
    if (TEST_DATABASE_URL) pgdb = await createPgDatabase();
    storageEnv = pgdb ? { DATABASE_URL: pgdb.url, TOLLGATE_DATA_DIR: dataDir } : { TOLLGATE_DATA_DIR: dataDir };
  });
  afterAll(async () => {
    if (server) await server.stop("SIGKILL");
    await pgdb?.drop();
  });

  it("drains: readiness 503, new connections refused, every stream finished, every request logged, exit 0", async () => {
    server = await startServerProcess(
      {
        ...storageEnv,
        PUBLIC_URL: "http://tollgate.test",
        TOLLGATE_SHUTDOWN_DELAY_MS: "3000",
        TOLLGATE_SHUTDOWN_TIMEOUT_MS: "25000",
      },
      { readyTimeoutMs: 120_000 },
    );
    owner = new HttpClient(server.url, "http://tollgate.test");
    const created = await orgWithKey(owner);
    org = created;
    key = created.key;
    const p = await owner.get(`/api/v1/orgs/${org.slug}/projects/${org.project}`);
    projectId = p.body.id;

    // mock/lorem streams one word per 25 ms: 240 words ≈ 6 s each, longer than the 3 s readiness delay.
    const streams = Array.from({ length: STREAMS }, (_, i) =>
      openStream(server!.url, key, {
        model: "mock/lorem",
        max_tokens: 240,
        messages: [{ role: "user", content: `stream ${i}` }],
      }),
    );
    await Promise.all(streams.map((s) => s.started));

    const signalled = Date.now();
    server.child.kill("SIGTERM");
    // Readiness turns 503 at once, while the replica still accepts connections (TOLLGATE_SHUTDOWN_DELAY_MS=3000).
    let ready: { status: number; body: { status?: string } } = { status: 0, body: {} };
    while (Date.now() - signalled < 2_500) {
      const res = await fetch(`${server.url}/readyz`, { headers: { connection: "close" } });
      ready = { status: res.status, body: (await res.json()) as { status?: string } };
      if (ready.status === 503) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(ready).toEqual({ status: 503, body: expect.objectContaining({ status: "draining" }) });

    // After the delay the listener is closed: new connections are refused (while the streams still run).
    let refused = false;
    while (!refused && Date.now() - signalled < 10_000) {
      refused = await fetch(`${server.url}/healthz`, { headers: { connection: "close" } }).then(
        () => false,
        () => true,
      );
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toBe(true);

    const results = await Promise.all(streams.map((s) => s.result));
    const exit = await server.exited;
    expect(exit.code, server.output()).toBe(0);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.errorCode).toBeNull();
      expect(r.cut).toBe(false);
      expect(r.done).toBe(true);
      expect(r.text.split(" ")).toHaveLength(240);
    }

    const rows = await logRows();
    expect(rows).toHaveLength(STREAMS);
    expect(rows.every((r) => r.outcome === "ok" && r.status === 200 && Number(r.output_tokens) > 0)).toBe(true);
  }, 180_000);

  it("past the deadline: running streams end with a terminal event (not a cut), are logged with what they generated, exit 0", async () => {
    server = await startServerProcess(
      { ...storageEnv, PUBLIC_URL: "http://tollgate.test", TOLLGATE_SHUTDOWN_TIMEOUT_MS: "1500" },
      { readyTimeoutMs: 120_000 },
    );
    // A second (test) key: each key may make 60 requests a minute. The session survived the restart.
    key = (await newKey(owner.at(server.url), org.slug, org.project)).key;
    // 2,000 words ≈ 50 s: far longer than the 1.5 s drain timeout.
    const streams = Array.from({ length: STREAMS }, (_, i) =>
      openStream(server!.url, key, {
        model: "mock/lorem",
        max_tokens: 2000,
        messages: [{ role: "user", content: `long ${i}` }],
      }),
    );
    await Promise.all(streams.map((s) => s.started));
    const signalled = Date.now();
    server.child.kill("SIGTERM");
    const results = await Promise.all(streams.map((s) => s.result));
    const exit = await server.exited;
    expect(exit.code, server.output()).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(20_000); // not the ~50 s the streams would take
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.cut).toBe(false);
      expect(r.errorCode).toBe("server_shutting_down");
      expect(r.text.length).toBeGreaterThan(0);
    }

    const rows = await logRows();
    const cutOff = rows.filter((r) => r.error_code === "server_shutting_down");
    expect(cutOff).toHaveLength(STREAMS);
    expect(cutOff.every((r) => r.outcome === "error" && r.status === 503 && Number(r.output_tokens) > 0)).toBe(true);
    // The first run's rows are still there: nothing was lost across the restarts.
    expect(rows.filter((r) => r.outcome === "ok")).toHaveLength(STREAMS);
  }, 180_000);
});
