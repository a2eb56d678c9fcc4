/**
 * The shared credit store (gateway/metering/redis-store.ts) on a real Redis
 * and a real database, with two store instances standing for two replicas:
 *  - a batch claimed by a replica that dies before writing it is taken over
 *    by another after the lease, and a batch written twice is posted once;
 *  - a queue entry carries its request's log row; the queue's byte count;
 *    the charge read back from the database counts once;
 *  - Redis unreachable: closed → 503 billing_unavailable, open → admitted.
 * What it shares with the in-process store (holds never above the balance
 * over replicas, settle exactly once and in full, project caps, grants seen,
 * stale holds released) is checked by the contract suite,
 * test/contracts/reservation-store.contract.test.ts.
 * Needs TEST_REDIS_URL; skipped otherwise.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisReservationStore, type QueuedDebit } from "../src/gateway/metering/redis-store.js";
import { decodeQueued, encodeQueued } from "../src/modules/billing/billing.charges.js";
import { accountTotals, type UsageDebit, writeUsage } from "../src/modules/billing/billing.repo.js";
import { createRedisConnection, type RedisConnection } from "../src/platform/redis.js";
import { openTestDatabase, type TestDatabase, TEST_REDIS_URL } from "./helpers/database.js";

const silent = { warn: () => undefined, info: () => undefined, error: () => undefined };

describe.skipIf(!TEST_REDIS_URL)("credit holds shared in Redis (needs TEST_REDIS_URL)", () => {
  let tdb: TestDatabase;
  let connA: RedisConnection;
  let connB: RedisConnection;
  const prefix = `tgtest:${randomBytes(4).toString("hex")}:`;
  const stores: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    tdb = await openTestDatabase();
    connA = createRedisConnection({ url: TEST_REDIS_URL!, prefix, log: silent });
    connB = createRedisConnection({ url: TEST_REDIS_URL!, prefix, log: silent });
    await connA.waitUntilReady(2_000);
    await connB.waitUntilReady(2_000);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await connA?.close();
    await connB?.close();
    await tdb?.drop();
  });

  const db = () => tdb.database.db;
  const credit = (orgId: string, amount: bigint) =>
    db().execute(
      sql`insert into ledger_entries (org_id, kind, amount_micro_usd, idempotency_key, note) values (${orgId}, 'grant', ${amount}, ${randomUUID()}, 'test')`,
    );
  const ledgerUsage = async (orgId: string) => {
    const res = (await db().execute(
      sql`select coalesce(-sum(amount_micro_usd), 0)::text as u, count(*)::int as n from ledger_entries where org_id = ${orgId} and kind = 'usage'`,
    )) as unknown as { rows: Array<{ u: string; n: number }> };
    return BigInt(res.rows[0]!.u);
  };
  const debitFor = (orgId: string): Omit<UsageDebit, "costMicroUsd"> => ({
    orgId,
    projectId: "p1",
    keyId: "k1",
    model: "x/y",
    hour: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000),
    requests: 1,
    inputTokens: 1n,
    cachedInputTokens: 0n,
    outputTokens: 1n,
  });
  const encode = (d: Omit<UsageDebit, "costMicroUsd">) =>
    JSON.stringify({ ...d, hour: d.hour.getTime(), inputTokens: "1", cachedInputTokens: "0", outputTokens: "1" });
  const write = async (batchId: string, debits: QueuedDebit[]) => {
    const rows = debits.map((q) => {
      const e = JSON.parse(q.entry);
      return {
        ...e,
        hour: new Date(e.hour),
        inputTokens: 1n,
        cachedInputTokens: 0n,
        outputTokens: 1n,
        costMicroUsd: q.charged,
      } as UsageDebit;
    });
    await writeUsage(db(), rows, batchId);
  };
  function store(
    conn: RedisConnection,
    opts: { writeBatch?: typeof write; failure?: "closed" | "open"; leaseMs?: number } = {},
  ) {
    const s = createRedisReservationStore({
      redis: conn,
      loadAccount: (orgId) => accountTotals(db(), orgId),
      writeBatch: opts.writeBatch ?? write,
      failure: opts.failure ?? "closed",
      onError: () => undefined,
      flushIntervalMs: 60_000,
      batchLeaseMs: opts.leaseMs,
      newId: randomUUID,
    });
    stores.push(s);
    return s;
  }
  const settle = (s: ReturnType<typeof store>, orgId: string, req: string, charge: bigint) =>
    s.settle(orgId, req, charge, { entry: encode(debitFor(orgId)) });

  it("a batch claimed by a replica that dies before writing it is posted by another after the lease — once", async () => {
    const org = randomUUID();
    await credit(org, 10_000n);
    let crashed = 0;
    const dying = store(connA, {
      writeBatch: async () => {
        crashed++;
        throw new Error("replica died mid-write");
      },
    });
    const survivor = store(connB, { leaseMs: 200 });
    for (let i = 0; i < 5; i++) {
      expect((await dying.reserve({ orgId: org, requestId: `d${i}`, amount: 100n })).ok).toBe(true);
      await settle(dying, org, `d${i}`, 60n);
    }
    await expect(dying.drain()).rejects.toThrow("replica died");
    expect(crashed).toBe(1);
    expect(await ledgerUsage(org)).toBe(0n);
    // Within the lease the batch belongs to the dead replica: nothing is taken over yet.
    await survivor.drain();
    expect(await ledgerUsage(org)).toBe(0n);
    await new Promise((r) => setTimeout(r, 250));
    await survivor.drain();
    expect(await ledgerUsage(org)).toBe(300n);
    // The same batch written again (a slow replica finishing after the takeover) is not posted twice.
    const last = (
      (await db().execute(sql`select id from billing_usage_batches order by created_at desc limit 1`)) as unknown as {
        rows: Array<{ id: string }>;
      }
    ).rows[0]!.id;
    await write(last, [{ charged: 60n, entry: encode(debitFor(org)) }]);
    expect(await ledgerUsage(org)).toBe(300n);
  });

  it("a charge's queue entry carries its log row; the queue's byte count rises by it and falls back once written", async () => {
    const org = randomUUID();
    await credit(org, 10_000n);
    const posted: Array<{ debit: UsageDebit; log: string | null }> = [];
    const s = store(connA, {
      writeBatch: async (batchId, queued) => {
        const charges = queued.map(decodeQueued);
        posted.push(...charges.map((c) => ({ debit: c.debit, log: c.log?.json ?? null })));
        await writeUsage(
          db(),
          charges.map((c) => c.debit),
          batchId,
        );
      },
    });
    await s.drain();
    const bytes = async () => Number((await connA.client.get(`${prefix}usage-queue-bytes`)) ?? "0");
    expect(await bytes()).toBe(0);
    // A row (JSON as a client may send it: line breaks between tokens, a "|" in a string): the entry is split at the
    // first "|" and the first line break, which the charge and the debit never hold.
    const row = `{"id": "r1",\n "request_body": {"text": "${"x".repeat(10_000)}|"}}`;
    expect((await s.reserve({ orgId: org, requestId: "b1", amount: 100n })).ok).toBe(true);
    const entry = encodeQueued(debitFor(org), row);
    await s.settle(org, "b1", 60n, { entry });
    expect(s.queueBytes()).toBe(Buffer.byteLength(`60|${entry}`));
    expect(await bytes()).toBe(s.queueBytes());
    await s.drain();
    expect(await bytes()).toBe(0);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.log).toBe(row);
    expect(posted[0]!.debit).toMatchObject({ orgId: org, costMicroUsd: 60n, requests: 1 });
    expect(await ledgerUsage(org)).toBe(60n);
    // Read back from the database after the write: the charge counted once.
    expect(await s.snapshot(org)).toEqual({ committedMicroUsd: 9_940n, unflushedMicroUsd: 0n, reservedMicroUsd: 0n });
  });

  it("Redis unreachable: fail closed refuses with 503 billing_unavailable; fail open admits", async () => {
    const down = createRedisConnection({ url: "redis://127.0.0.1:1", prefix, log: silent });
    try {
      const closed = store(down);
      await expect(closed.reserve({ orgId: randomUUID(), requestId: "x", amount: 10n })).rejects.toMatchObject({
        status: 503,
        code: "billing_unavailable",
      });
      const open = store(down, { failure: "open" });
      expect((await open.reserve({ orgId: randomUUID(), requestId: "y", amount: 10n })).ok).toBe(true);
      // The charge cannot be queued: the caller is told to write it itself.
      expect((await open.settle("o", "y", 7n, { entry: "{}" })).queued).toBe(false);
    } finally {
      await down.close();
    }
  });
});
