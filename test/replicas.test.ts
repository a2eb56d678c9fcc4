/**
 * Scale-out, end to end: three Tollgate server processes on different ports
 * sharing one fresh PostgreSQL database and one Redis (a key prefix of their
 * own), started at the same moment (so they also race for migrations).
 *  - A project's global RPM limit holds within 5% with requests spread over
 *    all three replicas.
 *  - A key revoked through replica 1 is refused by replicas 2 and 3 within a
 *    second, although both had it cached.
 * The cluster is set up once in `beforeAll`; further cross-replica guarantees
 * (credit reservations, usage surviving a killed replica) are more `it`s in
 * this describe, on the same cluster.
 *
 * Needs TEST_DATABASE_URL and TEST_REDIS_URL (.ci/run sets both); skipped
 * otherwise.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDatabase, TEST_DATABASE_URL, TEST_REDIS_URL } from "./helpers/database.js";
import { HttpClient, orgWithKey, startServerProcess, type ServerProcess } from "./helpers/server-process.js";

const PUBLIC_URL = "http://tollgate.test";

describe.skipIf(!TEST_DATABASE_URL || !TEST_REDIS_URL)("three replicas on one PostgreSQL and one Redis (needs TEST_DATABASE_URL and TEST_REDIS_URL)", () => {
  let pgdb: Awaited<ReturnType<typeof createPgDatabase>>;
  let replicas: ServerProcess[] = [];
  let owner: HttpClient;

  beforeAll(async () => {
    pgdb = await createPgDatabase();
    const env = {
      DATABASE_URL: pgdb.url,
      REDIS_URL: TEST_REDIS_URL!,
      TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:`,
      PUBLIC_URL,
      TOLLGATE_DATA_DIR: `/tmp/tollgate-replicas-${randomBytes(4).toString("hex")}`,
    };
    replicas = await Promise.all([0, 1, 2].map(() => startServerProcess(env, { readyTimeoutMs: 90_000 })));
    // Every replica's invalidation bus is up (its own heartbeats come back through Redis).
    for (const r of replicas) {
      for (let i = 0; ; i++) {
        const ready = (await (await fetch(`${r.url}/readyz`)).json()) as Record<string, string>;
        if (ready.status === "ready" && ready.redis === "up" && ready.cacheInvalidation === "shared") break;
        if (i > 100) throw new Error(`replica ${r.url} not ready: ${JSON.stringify(ready)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    owner = new HttpClient(replicas[0]!.url, PUBLIC_URL);
  }, 120_000);

  afterAll(async () => {
    const exits = await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
    await pgdb?.drop();
    // Each replica shut down cleanly.
    expect(exits.map((e) => e.code)).toEqual(replicas.map(() => 0));
  }, 60_000);

  const chat = (base: string, key: string) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "hi" }] }),
    }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });

  it("a global RPM limit holds within 5% with requests spread over the replicas", async () => {
    // A test key (never charged; its own ceiling is 60 RPM), under a project limit of 50.
    const LIMIT = 50;
    const { key } = await orgWithKey(owner, { rateLimit: { rpm: LIMIT } });
    const statuses: number[] = [];
    // 250 requests, round-robin over the three replicas, 15 in flight at a time.
    let next = 0;
    await Promise.all(
      Array.from({ length: 15 }, async () => {
        for (let i = next++; i < 250; i = next++) statuses.push(await chat(replicas[i % 3]!.url, key));
      }),
    );
    const allowed = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    console.info(`replicas: global RPM ${LIMIT}: ${allowed} of 250 requests allowed over 3 replicas, ${limited} refused (429)`);
    expect(allowed + limited).toBe(250);
    // Per-replica counters would let up to 3 × 50 through.
    expect(allowed).toBeGreaterThanOrEqual(LIMIT * 0.95);
    expect(allowed).toBeLessThanOrEqual(LIMIT * 1.05);
  }, 60_000);

  it("a key revoked on replica 1 is refused on replicas 2 and 3 within a second", async () => {
    const { slug, project, key, keyId } = await orgWithKey(owner);
    const models = (base: string) => fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    // Cached on every replica (a minute-long cache while the bus is up).
    for (const r of replicas) expect(await models(r.url)).toBe(200);

    const revoked = await owner.delete(`/api/v1/orgs/${slug}/projects/${project}/keys/${keyId}`);
    expect(revoked.status).toBeLessThan(300);
    const t0 = Date.now();
    const refusedAfter = await Promise.all(
      replicas.slice(1).map(async (r) => {
        while ((await models(r.url)) !== 401) {
          if (Date.now() - t0 > 5_000) return Infinity;
          await new Promise((res) => setTimeout(res, 10));
        }
        return Date.now() - t0;
      }),
    );
    console.info(`replicas: key revoked on replica 1 refused on replicas 2 and 3 after ${refusedAfter.join(" ms and ")} ms`);
    for (const ms of refusedAfter) expect(ms).toBeLessThan(1_000);
  }, 30_000);
});
