/**
 * Scale-out, end to end: three Tollgate server processes on different ports
 * sharing one fresh PostgreSQL database and one Redis (a key prefix of their
 * own), started at the same moment (so they also race for migrations).
 *  - A project's global RPM limit holds within 5% with requests spread over
 *    all three replicas, and so does a provider credential's own limit.
 *  - A key revoked through replica 1 is refused by replicas 2 and 3 within a
 *    second, although both had it cached.
 *  - 100 parallel priced requests spread over the replicas never overspend a
 *    balance (credit holds are shared in Redis).
 *  - A replica killed (SIGKILL) mid-load loses no billed usage of the requests
 *    it completed: their charges wait in Redis and the survivors post them;
 *    and charges and request logs still agree exactly (every charged request
 *    logged, every logged cost charged: its log row waits in Redis with it).
 * The cluster is set up once in `beforeAll`; `mock/echo` is priced through
 * TOLLGATE_PRICE_OVERRIDES so that requests cost money.
 *
 * Needs TEST_DATABASE_URL and TEST_REDIS_URL (.ci/run sets both); skipped
 * otherwise.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { createPgDatabase, TEST_DATABASE_URL, TEST_REDIS_URL } from "./helpers/database.js";
import {
  HttpClient,
  ledgerOf,
  newKey,
  orgWithKey,
  startServerProcess,
  type ServerProcess,
} from "./helpers/server-process.js";

const PUBLIC_URL = "http://tollgate.test";

describe.skipIf(!TEST_DATABASE_URL || !TEST_REDIS_URL)(
  "three replicas on one PostgreSQL and one Redis (needs TEST_DATABASE_URL and TEST_REDIS_URL)",
  () => {
    let pgdb: Awaited<ReturnType<typeof createPgDatabase>>;
    let replicas: ServerProcess[] = [];
    let owner: HttpClient;
    let dbUrl: string;
    let vendor: OpenAIFake;
    const prefix = `tgtest:${randomBytes(4).toString("hex")}:`;

    beforeAll(async () => {
      pgdb = await createPgDatabase();
      const env = {
        DATABASE_URL: pgdb.url,
        REDIS_URL: TEST_REDIS_URL!,
        TOLLGATE_REDIS_PREFIX: prefix,
        PUBLIC_URL,
        TOLLGATE_DATA_DIR: `/tmp/tollgate-replicas-${randomBytes(4).toString("hex")}`,
        // $1 per million input tokens, $10 per million output tokens.
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "10" } }),
        // Organizations' providers may reach the vendor fake on loopback.
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
      };
      vendor = await startOpenAIFake({ apiKey: "sk-vendor-account-000000000" });
      dbUrl = pgdb.url;
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
      await vendor?.close();
      // Each replica shut down cleanly.
      expect(exits.map((e) => e.code)).toEqual(replicas.map(() => 0));
    }, 60_000);

    const chat = (base: string, key: string) =>
      fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        // Test keys reach free models only, and mock/echo is priced here.
        body: JSON.stringify({ model: "mock/lorem", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
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
      console.info(
        `replicas: global RPM ${LIMIT}: ${allowed} of 250 requests allowed over 3 replicas, ${limited} refused (429)`,
      );
      expect(allowed + limited).toBe(250);
      // Per-replica counters would let up to 3 × 50 through.
      expect(allowed).toBeGreaterThanOrEqual(LIMIT * 0.95);
      expect(allowed).toBeLessThanOrEqual(LIMIT * 1.05);
    }, 60_000);

    it("a provider credential's own requests-per-minute limit holds across the replicas", async () => {
      const LIMIT = 20;
      const { slug, key } = await orgWithKey(owner);
      const created = await owner.post(`/api/v1/orgs/${slug}/providers`, {
        name: "Vendor",
        slug: "vendor",
        format: "openai",
        baseUrl: `${vendor.url}/v1`,
        credentials: [{ apiKey: "sk-vendor-account-000000000", rpm: LIMIT }],
        models: [{ id: "m1" }],
      });
      expect(created.status).toBe(201);
      const before = vendor.requests.length;
      const statuses = await Promise.all(
        Array.from({ length: 45 }, (_, i) =>
          fetch(`${replicas[i % 3]!.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ model: "vendor/m1", messages: [{ role: "user", content: "hi" }] }),
          }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      const reached = vendor.requests.length - before;
      console.info(`replicas: credential RPM ${LIMIT}: ${reached} of 45 requests reached the vendor over 3 replicas`);
      // Per-replica counters would let up to 3 × 20 through.
      expect(reached).toBeLessThanOrEqual(LIMIT);
      expect(reached).toBeGreaterThanOrEqual(LIMIT * 0.95);
      expect(statuses.filter((st) => st === 200)).toHaveLength(reached);
      expect(statuses.filter((st) => st === 429)).toHaveLength(45 - reached);
    }, 60_000);

    it("a key revoked on replica 1 is refused on replicas 2 and 3 within a second", async () => {
      const { slug, project, key, keyId } = await orgWithKey(owner);
      const models = (base: string) =>
        fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
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
      console.info(
        `replicas: key revoked on replica 1 refused on replicas 2 and 3 after ${refusedAfter.join(" ms and ")} ms`,
      );
      for (const ms of refusedAfter) expect(ms).toBeLessThan(1_000);
    }, 30_000);

    const grant = (slug: string, usd: string) =>
      promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", "credits", "grant", "--org", slug, "--usd", usd, "--note", "replica test"],
        {
          env: {
            PATH: process.env.PATH ?? "",
            DATABASE_URL: dbUrl,
            TOLLGATE_SECRET: "test-secret-test-secret-test-secret-0123456789",
          },
        },
      );
    const ledger = (slug: string) => ledgerOf(dbUrl, slug);
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
    const priced = async (base: string, key: string, opts: { stream?: boolean; maxTokens?: number } = {}) => {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "mock/echo",
          messages: [{ role: "user", content: words }],
          max_tokens: opts.maxTokens ?? 1000,
          stream: opts.stream ?? false,
          stream_options: opts.stream ? { include_usage: true } : undefined,
        }),
      });
      const text = await res.text();
      let cost: bigint | null = null;
      // A refusal states the request's worst case, its hold: "… may cost up to $0.010240 …".
      const hold = res.status === 402 ? /may cost up to \$(\d+)\.(\d{6})/.exec(text) : null;
      if (res.status === 200) {
        const header = res.headers.get("x-tollgate-cost-usd");
        const final = opts.stream
          ? text
              .split("\n")
              .filter((l) => l.startsWith("data: {"))
              .map((l) => JSON.parse(l.slice(6)))
              .find((c) => c.tollgate)
          : null;
        const usd = header ?? final?.tollgate?.cost_usd;
        if (usd) cost = BigInt(usd.replace(".", ""));
      }
      return { status: res.status, cost, hold: hold ? BigInt(hold[1]! + hold[2]!) : null, text };
    };

    it("100 parallel priced requests spread over the replicas never overspend a balance", async () => {
      const { slug, project } = await orgWithKey(owner);
      const { key: liveKey } = await newKey(owner, slug, project, "live");
      // Worst case per request: the input's bytes at $1/M + 1000 output tokens at $10/M ≈ $0.01; B = $0.05.
      const B = 50_000n;
      await grant(slug, "0.05");
      const N = 100;
      // Streams take ~1 s (word by word): every admitted request still holds its credits while the others arrive.
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => priced(replicas[i % 3]!.url, liveKey, { stream: true })),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 402);
      expect(ok.length + refused.length).toBe(N);
      const cost = ok[0]!.cost!;
      const hold = refused[0]!.hold!;
      for (const r of ok) expect(r.cost).toBe(cost);
      for (const r of refused) expect(r.hold).toBe(hold);
      console.info(
        `replicas: balance $0.05, ${N} parallel streams over 3 replicas, each held ${hold} µ$ and cost ${cost} µ$: ${ok.length} admitted, ${refused.length} refused (402)`,
      );
      // Holds overlap, so exactly B / hold fit; per-replica holds would admit up to that many on each replica.
      expect(BigInt(ok.length)).toBe(B / hold);
      expect(BigInt(ok.length) * cost).toBeLessThanOrEqual(B);
      const charged = cost * BigInt(ok.length);
      // Every replica flushes its queue within about a second; wait for the ledger to hold every charge.
      let l = await ledger(slug);
      for (let i = 0; i < 50 && l.usage < charged; i++) {
        await new Promise((res) => setTimeout(res, 100));
        l = await ledger(slug);
      }
      expect(l.usage).toBe(charged);
      expect(l.balance).toBe(B - charged);
      expect(l.balance).toBeGreaterThanOrEqual(0n);
      expect(l.sum).toBe(l.balance);
    }, 60_000);

    it("a key's budget holds across the replicas: 100 parallel requests never spend past it", async () => {
      const { slug, project } = await orgWithKey(owner);
      const { key: liveKey, keyId } = await newKey(owner, slug, project, "live");
      await grant(slug, "10");
      // The same worst case as above (≈ $0.01 a request), against a key budget of $0.05 a day.
      const budget = await owner.patch(`/api/v1/orgs/${slug}/projects/${project}/keys/${keyId}`, {
        budgetUsd: "0.05",
        budgetPeriod: "day",
      });
      expect(budget.status).toBe(200);
      const N = 100;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => priced(replicas[i % 3]!.url, liveKey, { stream: true })),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 402);
      expect(ok.length + refused.length).toBe(N);
      for (const r of refused) expect(r.text).toContain("key_budget_exceeded");
      const charged = ok.reduce((sum, r) => sum + r.cost!, 0n);
      console.info(
        `replicas: key budget $0.05, ${N} parallel streams over 3 replicas: ${ok.length} admitted, ${refused.length} refused (402), ${charged} µ$ charged`,
      );
      // Holds overlap (streams take ~1 s), so exactly budget / hold fit; per-replica counters would admit that
      // many on each replica.
      expect(BigInt(ok.length)).toBe(50_000n / refused[0]!.hold!);
      expect(charged).toBeLessThanOrEqual(50_000n);
    }, 60_000);

    it("killing one replica mid-load loses no billed usage of the requests it completed", async () => {
      const { slug, project } = await orgWithKey(owner);
      const { key } = await newKey(owner, slug, project, "live");
      await grant(slug, "100");
      const victim = replicas[2]!;
      const completed: bigint[] = [];
      let failed = 0;
      let stop = false;
      let victimDead = false;
      // 12 clients hammering all three replicas with small priced requests (max_tokens 50: worst case ≈ 540 µ$).
      const load = Promise.all(
        Array.from({ length: 12 }, async (_, c) => {
          for (let i = 0; !stop; i++) {
            const target = replicas[(c + i) % 3]!;
            if (target === victim && victimDead) continue;
            try {
              const r = await priced(target.url, key, { maxTokens: 50 });
              if (r.status === 200 && r.cost !== null) completed.push(r.cost);
              else failed++;
            } catch {
              failed++;
            }
          }
        }),
      );
      await new Promise((res) => setTimeout(res, 2_500));
      const before = completed.length;
      victim.child.kill("SIGKILL");
      victimDead = true;
      await victim.exited;
      await new Promise((res) => setTimeout(res, 1_500));
      stop = true;
      await load;
      const billed = completed.reduce((s, c) => s + c, 0n);
      // The survivors post every queued charge, including the dead replica's (its claimed batches after the lease).
      let l = await ledger(slug);
      for (let i = 0; i < 200 && l.usage < billed; i++) {
        await new Promise((res) => setTimeout(res, 100));
        l = await ledger(slug);
      }
      console.info(
        `replicas: ${completed.length} priced requests completed (${before} before the SIGKILL of replica 3, ${failed} cut off or refused); billed to clients ${billed} µ$, in the ledger ${l.usage} µ$`,
      );
      expect(completed.length).toBeGreaterThan(before);
      // Every completed request's charge is in the ledger; requests cut off by the kill may add their own (settled, answer lost).
      expect(l.usage).toBeGreaterThanOrEqual(billed);
      expect(l.usage - billed).toBeLessThanOrEqual(BigInt(failed) * 600n);
      expect(l.sum).toBe(l.balance);
      replicas = replicas.filter((r) => r !== victim);

      // Once the shared queue is empty (the dead replica's claimed batches are taken over after their 10 s lease),
      // charges and logs agree hour by hour: nothing charged but unlogged, nothing logged but uncharged.
      const redis = new Redis(TEST_REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        let pending = -1;
        for (let i = 0; i < 300 && pending !== 0; i++) {
          if (i > 0) await new Promise((res) => setTimeout(res, 100));
          pending = (await redis.llen(`${prefix}usage-queue`)) + (await redis.zcard(`${prefix}usage-batches`));
        }
        expect(pending).toBe(0);
      } finally {
        redis.disconnect();
      }
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      let perHour: Array<{
        hour: string;
        ledger: string;
        hourly: string;
        requests: number;
        logs: string;
        logged: number;
      }>;
      try {
        perHour = (
          await c.query(
            `with o as (select id from organizations where slug = $1),
                l as (select period_start as hour, -sum(amount_micro_usd) as s from ledger_entries where org_id = (select id from o) and kind = 'usage' group by 1),
                h as (select hour, sum(cost_micro_usd) as s, sum(requests)::int as n from billing_usage_hourly where org_id = (select id from o) group by 1),
                r as (select date_trunc('hour', created_at) as hour, sum(cost_micro_usd) as s, count(*)::int as n from request_logs where org_id = (select id from o) and cost_micro_usd > 0 group by 1)
           select coalesce(l.hour, h.hour, r.hour)::text as hour, coalesce(l.s, 0)::text as ledger, coalesce(h.s, 0)::text as hourly, coalesce(h.n, 0) as requests,
                  coalesce(r.s, 0)::text as logs, coalesce(r.n, 0) as logged
           from l full join h on h.hour = l.hour full join r on r.hour = coalesce(l.hour, h.hour)`,
            [slug],
          )
        ).rows;
      } finally {
        await c.end();
      }
      const logged = perHour.reduce((n, h) => n + h.logged, 0);
      console.info(
        `replicas: after the SIGKILL, ${perHour.reduce((n, h) => n + h.requests, 0)} charged requests in the ledger's hours, ${logged} charged request-log rows; per hour ${perHour.map((h) => `ledger ${h.ledger} µ$ / logs ${h.logs} µ$`).join(", ")}`,
      );
      expect(perHour.length).toBeGreaterThan(0);
      for (const h of perHour) {
        expect(h.logs, `hour ${h.hour}`).toBe(h.ledger);
        expect(h.hourly, `hour ${h.hour}`).toBe(h.ledger);
        expect(h.logged, `hour ${h.hour}`).toBe(h.requests);
      }
      // Every request a client was billed for is logged (the others logged were settled but cut off by the kill).
      expect(logged).toBeGreaterThanOrEqual(completed.length);
      const verify = await promisify(execFile)(
        process.execPath,
        [
          "--import",
          "tsx",
          "src/cli.ts",
          "billing",
          "verify",
          "--through",
          new Date(Date.now() + 2 * 3_600_000).toISOString(),
        ],
        {
          env: {
            PATH: process.env.PATH ?? "",
            DATABASE_URL: dbUrl,
            TOLLGATE_SECRET: "test-secret-test-secret-test-secret-0123456789",
            TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "10" } }),
          },
        },
      ).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code?: number; stdout?: string }) => ({ code: e.code ?? 1, out: e.stdout ?? "" }),
      );
      expect(verify.out).not.toMatch(/MISMATCH|UNDER-BILLED/);
      expect(verify.code).toBe(0);
    }, 120_000);
  },
);
