/**
 * The credit reservation store contract (gateway/metering/store.ts): what
 * metering (modules/billing/billing.gateway.ts) relies on, for the in-process
 * store and the Redis store. The ledger is a fake with the database's
 * semantics (an account's credits, usage and credit sequence; a batch written
 * twice is posted once), so the suite checks the stores, not the database.
 *  - holds: admitted only while the balance covers them, atomically over
 *    every replica; idempotent by request id; a refusal says what is
 *    available and what is held, and comes only after a fresh read;
 *  - settle: exactly once, never capped by the hold, releases the hold;
 *  - the charge reaches the ledger exactly once, whether the store queues it
 *    (Redis) or hands it back to the caller to write (in-process), and the
 *    balance is never counted twice around that write;
 *  - project caps, for stores that enforce them; none for the others;
 *  - stale holds are released; prepaid credits off admits every hold.
 * "Replicas": the Redis store as two instances on two connections; the
 * in-process store is one process's only store.
 * Redis-only behaviour (a dead replica's batch taken over after its lease,
 * log rows in queue entries, Redis unreachable) is in test/redis-credits.test.ts.
 */
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { createRedisReservationStore, type QueuedDebit } from "../../src/gateway/metering/redis-store.js";
import {
  createMemoryStore,
  type ReservationStore,
  type SettleResult,
  type SpendCap,
} from "../../src/gateway/metering/store.js";
import { clause, contract, fresh, type Implementation, redisScope } from "./harness.js";

/** The database's side: billing_accounts (credits = balance + usage, usage, credit_seq) and posted batches. */
class FakeLedger {
  private readonly accounts = new Map<string, { credits: bigint; usage: bigint; seq: bigint }>();
  private readonly projects = new Map<string, bigint>();
  private readonly batches = new Set<string>();
  private account(orgId: string) {
    let a = this.accounts.get(orgId);
    if (!a) {
      a = { credits: 0n, usage: 0n, seq: 0n };
      this.accounts.set(orgId, a);
    }
    return a;
  }
  grant(orgId: string, amount: bigint) {
    const a = this.account(orgId);
    a.credits += amount;
    a.seq += 1n;
  }
  balance = async (orgId: string) => this.account(orgId).credits - this.account(orgId).usage;
  totals = async (orgId: string) => {
    const a = this.account(orgId);
    return { creditsMicroUsd: a.credits, usageMicroUsd: a.usage, creditSeq: a.seq };
  };
  projectSpend = async (projectId: string) => this.projects.get(projectId) ?? 0n;
  usage = (orgId: string) => this.account(orgId).usage;
  post(orgId: string, projectId: string, charged: bigint) {
    this.account(orgId).usage += charged;
    this.projects.set(projectId, (this.projects.get(projectId) ?? 0n) + charged);
  }
  /** Idempotent by batch id, like billing.repo's writer. */
  writeBatch = async (batchId: string, debits: QueuedDebit[]) => {
    if (this.batches.has(batchId)) return;
    this.batches.add(batchId);
    for (const d of debits) {
      const e = JSON.parse(d.entry) as { orgId: string; projectId: string };
      this.post(e.orgId, e.projectId, d.charged);
    }
  };
}

interface Project {
  id: string;
  month: string;
}

interface Credits {
  ledger: FakeLedger;
  clock: { now: number };
  store: ReservationStore;
  /** Another replica on the same shared state (the in-process store: the same store, one per process). */
  replica(): ReservationStore;
  /** A new store on the same ledger (and the same Redis), with prepaid credits off. */
  withoutCredits(): ReservationStore;
  /** Settles as metering does: with the debit a queueing store needs; a charge handed back is written on flush. */
  settle(
    s: ReservationStore,
    orgId: string,
    requestId: string,
    charge: bigint,
    project?: Project,
  ): Promise<SettleResult>;
  /** Every settled charge into the ledger: the shared queue drained, or the caller's writes committed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_PROJECT: Project = { id: "p1", month: "2026-11" };
const MINUTE = 60_000;

function harness(
  build: (ledger: FakeLedger, clock: { now: number }, opts: { credits: boolean }) => ReservationStore,
  shared: { replica?: () => ReservationStore; flush?: () => Promise<void>; close?: () => Promise<void> } = {},
) {
  const ledger = new FakeLedger();
  const clock = { now: 1_750_000_000_000 };
  // Charges handed back to the caller (queued: false), per store, until flushed through its commitFlush.
  const handedBack = new Map<ReservationStore, Array<{ orgId: string; projectId: string; charged: bigint }>>();
  const store = build(ledger, clock, { credits: true });
  const c: Credits = {
    ledger,
    clock,
    store,
    replica: shared.replica ?? (() => store),
    withoutCredits: () => build(ledger, clock, { credits: false }),
    async settle(s, orgId, requestId, charge, project = DEFAULT_PROJECT) {
      const entry = JSON.stringify({ orgId, projectId: project.id });
      const res = await s.settle(orgId, requestId, charge, { entry });
      if (!res.queued) {
        const list = handedBack.get(s) ?? [];
        list.push({ orgId, projectId: project.id, charged: res.charged });
        handedBack.set(s, list);
      }
      return res;
    },
    async flush() {
      for (const [s, list] of handedBack) {
        handedBack.delete(s);
        const perOrg = new Map<string, bigint>();
        for (const d of list) perOrg.set(d.orgId, (perOrg.get(d.orgId) ?? 0n) + d.charged);
        await s.commitFlush(async () => {
          for (const d of list) ledger.post(d.orgId, d.projectId, d.charged);
        }, perOrg);
      }
      await shared.flush?.();
    },
    close: async () => shared.close?.(),
  };
  return c;
}

const implementations: Array<Implementation<Credits>> = [
  {
    name: "in-process",
    make: () =>
      harness((ledger, clock, { credits }) =>
        createMemoryStore({ loadBalance: ledger.balance, now: () => clock.now, credits }),
      ),
    cleanup: (c) => c.close(),
    deviations: {
      "repeated-settle":
        "answers a repeated settle with its first result, `queued: false` included: a caller that writes what comes back unqueued (metering does) writes the charge again",
    },
  },
  {
    name: "redis",
    needs: "TEST_REDIS_URL",
    async make() {
      const scope = redisScope();
      const conns = [await scope.connect(), await scope.connect()];
      const stores: Array<ReturnType<typeof createRedisReservationStore>> = [];
      const errors: unknown[] = [];
      let replicas = 0;
      let ledgerRef: FakeLedger | null = null;
      let clockRef: { now: number } | null = null;
      const build = (ledger: FakeLedger, clock: { now: number }, opts: { credits: boolean }) => {
        ledgerRef = ledger;
        clockRef = clock;
        const s = createRedisReservationStore({
          redis: conns[replicas++ % conns.length]!,
          loadAccount: ledger.totals,
          writeBatch: ledger.writeBatch,
          failure: "closed",
          credits: opts.credits,
          onError: (err) => errors.push(err),
          // No timer flush during a test: `flush()` drains when the test says so.
          flushIntervalMs: 3_600_000,
          now: () => clock.now,
          newId: randomUUID,
        });
        stores.push(s);
        return s;
      };
      return harness(build, {
        replica: () => build(ledgerRef!, clockRef!, { credits: true }),
        flush: async () => {
          await stores[0]!.drain();
        },
        async close() {
          for (const s of stores) await s.close();
          await scope.close();
          expect(errors).toEqual([]);
        },
      });
    },
    cleanup: (c) => c.close(),
    deviations: {
      "stale-age":
        "releases a hold exactly as old as the age too (ZRANGEBYSCORE up to now − age, inclusive); the in-process store keeps it (`at < now − age`)",
    },
  },
];

contract("credit reservation store", implementations, (impl) => {
  const subject = fresh(impl);
  const org = () => randomUUID();

  it("concurrent reserves over every replica never hold more than the balance; a refusal says what is available and held", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 95n);
    const a = c.store;
    const b = c.replica();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).reserve({ orgId: o, requestId: `r${i}`, amount: 10n })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(9);
    for (const r of results.filter((r) => !r.ok))
      expect(r).toEqual({ ok: false, reason: "credits", availableMicroUsd: 5n, heldMicroUsd: 90n });
    // A request id already holding is admitted again without a second hold (idempotent), on any replica.
    const first = results.findIndex((r) => r.ok);
    expect((await a.reserve({ orgId: o, requestId: `r${first}`, amount: 10n })).ok).toBe(true);
    expect((await b.reserve({ orgId: o, requestId: `r${first}`, amount: 10n })).ok).toBe(true);
    expect(await a.snapshot(o)).toEqual({ committedMicroUsd: 95n, unflushedMicroUsd: 0n, reservedMicroUsd: 90n });
  });

  it("refuses an organization without credits, saying nothing is available", async () => {
    const c = subject();
    expect(await c.store.reserve({ orgId: org(), requestId: "x", amount: 1n })).toEqual({
      ok: false,
      reason: "credits",
      availableMicroUsd: 0n,
      heldMicroUsd: 0n,
    });
  });

  it("settle is exactly once and charges in full (an overrun beyond the hold too), releasing the hold", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 1_000n);
    const a = c.store;
    const b = c.replica();
    expect((await a.reserve({ orgId: o, requestId: "q1", amount: 100n })).ok).toBe(true);
    const s1 = await c.settle(a, o, "q1", 250n);
    expect(s1).toMatchObject({ charged: 250n, balanceMicroUsd: 750n });
    // Settled again (on another replica, with another amount): the first result, no second charge.
    expect(await c.settle(b, o, "q1", 40n)).toEqual(s1);
    expect((await a.reserve({ orgId: o, requestId: "q2", amount: 100n })).ok).toBe(true);
    expect(await c.settle(b, o, "q2", 30n)).toMatchObject({ charged: 30n, balanceMicroUsd: 720n });
    expect(await a.snapshot(o)).toEqual({ committedMicroUsd: 1_000n, unflushedMicroUsd: 280n, reservedMicroUsd: 0n });
  });

  it("a settled charge reaches the ledger exactly once, and the balance is never counted twice around the write", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 1_000n);
    for (const [req, charge] of [
      ["w1", 250n],
      ["w2", 30n],
    ] as const) {
      expect((await c.store.reserve({ orgId: o, requestId: req, amount: 100n })).ok).toBe(true);
      await c.settle(c.store, o, req, charge);
    }
    expect(c.ledger.usage(o)).toBe(0n);
    await c.flush();
    expect(c.ledger.usage(o)).toBe(280n);
    await c.flush();
    expect(c.ledger.usage(o)).toBe(280n);
    // The account re-read after the write (told, and by the clock): nothing counted twice.
    c.store.invalidate(o);
    expect(await c.store.snapshot(o)).toEqual({ committedMicroUsd: 720n, unflushedMicroUsd: 0n, reservedMicroUsd: 0n });
    c.clock.now += MINUTE;
    expect((await c.store.reserve({ orgId: o, requestId: "w3", amount: 720n })).ok).toBe(true);
    expect(await c.replica().reserve({ orgId: o, requestId: "w4", amount: 1n })).toEqual({
      ok: false,
      reason: "credits",
      availableMicroUsd: 0n,
      heldMicroUsd: 720n,
    });
  });

  clause(impl, "repeated-settle")("a repeated settle adds nothing to the ledger", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 1_000n);
    expect((await c.store.reserve({ orgId: o, requestId: "d1", amount: 100n })).ok).toBe(true);
    const first = await c.settle(c.store, o, "d1", 250n);
    expect(await c.settle(c.replica(), o, "d1", 250n)).toEqual(first);
    await c.flush();
    expect(c.ledger.usage(o)).toBe(250n);
  });

  it("an overrun may take the balance below zero; the next priced request is refused, a free one admitted", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 100n);
    expect((await c.store.reserve({ orgId: o, requestId: "o1", amount: 100n })).ok).toBe(true);
    expect(await c.settle(c.store, o, "o1", 150n)).toMatchObject({ charged: 150n, balanceMicroUsd: -50n });
    expect(await c.store.reserve({ orgId: o, requestId: "o2", amount: 1n })).toEqual({
      ok: false,
      reason: "credits",
      availableMicroUsd: 0n,
      heldMicroUsd: 0n,
    });
    expect((await c.store.reserve({ orgId: o, requestId: "o3", amount: 0n })).ok).toBe(true);
    await c.flush();
    expect(c.ledger.usage(o)).toBe(150n);
    expect((await c.store.snapshot(o)).committedMicroUsd).toBe(-50n);
  });

  it("a zero or negative charge charges nothing and still ends the hold", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 100n);
    expect((await c.store.reserve({ orgId: o, requestId: "z1", amount: 60n })).ok).toBe(true);
    expect((await c.settle(c.store, o, "z1", -5n)).charged).toBe(0n);
    expect((await c.store.reserve({ orgId: o, requestId: "z2", amount: 100n })).ok).toBe(true);
    expect((await c.settle(c.store, o, "z2", 0n)).charged).toBe(0n);
    expect(await c.store.snapshot(o)).toEqual({ committedMicroUsd: 100n, unflushedMicroUsd: 0n, reservedMicroUsd: 0n });
  });

  it("a request already settled is admitted again without a new hold", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 100n);
    expect((await c.store.reserve({ orgId: o, requestId: "s1", amount: 100n })).ok).toBe(true);
    await c.settle(c.store, o, "s1", 10n);
    expect((await c.replica().reserve({ orgId: o, requestId: "s1", amount: 100n })).ok).toBe(true);
    expect((await c.store.snapshot(o)).reservedMicroUsd).toBe(0n);
  });

  it("a grant made elsewhere is seen before a refusal, told or not", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 10n);
    expect((await c.store.reserve({ orgId: o, requestId: "g1", amount: 10n })).ok).toBe(true);
    c.ledger.grant(o, 100n); // by the CLI, another replica, a webhook: this store was not told
    expect((await c.store.reserve({ orgId: o, requestId: "g2", amount: 50n })).ok).toBe(true);
    c.ledger.grant(o, 1_000n);
    c.store.invalidate(o); // told this time
    expect((await c.replica().reserve({ orgId: o, requestId: "g3", amount: 1_000n })).ok).toBe(true);
    expect((await c.store.snapshot(o)).reservedMicroUsd).toBe(1_060n);
  });

  it("releases holds older than the given age, and only those; a released request still settles once, in full", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 1_000n);
    expect((await c.store.reserve({ orgId: o, requestId: "old", amount: 300n })).ok).toBe(true);
    c.clock.now += 10 * MINUTE;
    expect((await c.replica().reserve({ orgId: o, requestId: "young", amount: 200n })).ok).toBe(true);
    c.clock.now += 6 * MINUTE;
    expect(await c.store.releaseStale(15 * MINUTE)).toBe(1);
    expect((await c.store.snapshot(o)).reservedMicroUsd).toBe(200n);
    expect(await c.store.releaseStale(15 * MINUTE)).toBe(0);
    // The request finally finishes: charged in full, once; the young hold is untouched.
    expect((await c.settle(c.store, o, "old", 120n)).charged).toBe(120n);
    expect(await c.store.snapshot(o)).toEqual({
      committedMicroUsd: 1_000n,
      unflushedMicroUsd: 120n,
      reservedMicroUsd: 200n,
    });
    await c.flush();
    expect(c.ledger.usage(o)).toBe(120n);
  });

  // The interface says "older than".
  clause(impl, "stale-age")("keeps a hold exactly as old as the given age", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 100n);
    expect((await c.store.reserve({ orgId: o, requestId: "edge", amount: 10n })).ok).toBe(true);
    c.clock.now += 15 * MINUTE;
    expect(await c.store.releaseStale(15 * MINUTE)).toBe(0);
  });

  it("a project's monthly cap counts holds and charges of every replica (stores that enforce caps; others leave caps to the caller)", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 1_000_000n);
    const a = c.store;
    const b = c.replica();
    const project = randomUUID();
    const capOf = (month: string, capMicroUsd = 250n): SpendCap => ({
      id: `proj:${project}:${month}`,
      kind: "project",
      period: "month",
      capMicroUsd,
      load: () => c.ledger.projectSpend(project),
      ttlMs: 3_600_000,
    });
    const cap = capOf("2026-11");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).reserve({ orgId: o, requestId: `c${i}`, amount: 100n, caps: [cap] }),
      ),
    );
    if (!c.store.enforcesCaps) {
      expect(results.every((r) => r.ok)).toBe(true);
      return;
    }
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    for (const r of results.filter((r) => !r.ok))
      expect(r).toMatchObject({ ok: false, reason: "cap", cap: { id: cap.id }, spentMicroUsd: 200n });
    // A settled charge counts as spent (in full, the overrun too); its hold no longer does.
    const held = results.findIndex((r) => r.ok);
    await c.settle(a, o, `c${held}`, 120n, { id: project, month: "2026-11" });
    expect((await b.reserve({ orgId: o, requestId: "c10", amount: 30n, caps: [cap] })).ok).toBe(true);
    expect(await a.reserve({ orgId: o, requestId: "c11", amount: 1n, caps: [cap] })).toMatchObject({
      ok: false,
      reason: "cap",
      spentMicroUsd: 250n,
    });
    // Another month starts from nothing.
    expect((await a.reserve({ orgId: o, requestId: "c12", amount: 250n, caps: [capOf("2026-12")] })).ok).toBe(true);
  });

  it("a hold counts against every cap it names: the tightest refuses, and the charge counts in each (stores that enforce caps)", async () => {
    const c = subject();
    const o = org();
    c.ledger.grant(o, 1_000_000n);
    if (!c.store.enforcesCaps) return;
    const cap = (id: string, kind: SpendCap["kind"], capMicroUsd: bigint): SpendCap => ({
      id,
      kind,
      period: "day",
      capMicroUsd,
      load: async () => 0n,
      ttlMs: 3_600_000,
    });
    const project = cap(`proj:${randomUUID()}:2026-11`, "project", 1_000n);
    const key = cap(`kbud:${randomUUID()}:day:2026-11-30`, "key", 150n);
    const a = c.store;
    const b = c.replica();
    expect((await a.reserve({ orgId: o, requestId: "k1", amount: 100n, caps: [project, key] })).ok).toBe(true);
    expect(await b.reserve({ orgId: o, requestId: "k2", amount: 100n, caps: [project, key] })).toMatchObject({
      ok: false,
      reason: "cap",
      cap: { kind: "key" },
      spentMicroUsd: 100n,
    });
    // Another key under the same project cap is admitted: the project has room.
    const other = cap(`kbud:${randomUUID()}:day:2026-11-30`, "key", 150n);
    expect((await b.reserve({ orgId: o, requestId: "k3", amount: 100n, caps: [project, other] })).ok).toBe(true);
    // The charge (an overrun, in full) counts in both of the hold's caps; its hold no longer does.
    await c.settle(a, o, "k1", 140n);
    expect(await b.reserve({ orgId: o, requestId: "k4", amount: 20n, caps: [project, key] })).toMatchObject({
      reason: "cap",
      cap: { kind: "key" },
      spentMicroUsd: 140n,
    });
    expect((await b.reserve({ orgId: o, requestId: "k5", amount: 10n, caps: [project, key] })).ok).toBe(true);
    expect(await a.reserve({ orgId: o, requestId: "k6", amount: 800n, caps: [project, other] })).toMatchObject({
      reason: "cap",
      cap: { kind: "project" },
    });
  });

  it("with prepaid credits off, every hold is admitted whatever the balance", async () => {
    const c = subject();
    const s = c.withoutCredits();
    const o = org();
    expect((await s.reserve({ orgId: o, requestId: "f1", amount: 1_000_000n })).ok).toBe(true);
    expect((await c.settle(s, o, "f1", 400_000n)).charged).toBe(400_000n);
    expect((await s.reserve({ orgId: o, requestId: "f2", amount: 1_000_000n })).ok).toBe(true);
    await c.flush();
    expect(c.ledger.usage(o)).toBe(400_000n);
  });
});
