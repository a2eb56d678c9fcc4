/**
 * Credit holds shared by every replica (REDIS_URL). The no-overspend
 * guarantee across replicas rests on one Lua script per step, each atomic in
 * Redis however many replicas call it at once.
 *
 * Per organization, hash `credit:<org>`:
 *   credits  — every credit ever posted (balance + usage in billing_accounts),
 *              with `seq` = the account's credit_seq it was read at;
 *   usage    — every charge ever settled, flushed to the ledger or not;
 *   reserved — holds of requests in flight.
 * available = credits − usage − reserved. A flush to the ledger changes
 * neither `credits` nor `usage` (it moves usage from Redis' queue into
 * billing_accounts.usage_micro_usd), so a replica re-reading the account while
 * another flushes can never double-count or lose a debit: the refresh only
 * raises `usage` to the database's figure when Redis is behind (after a Redis
 * restart) and sets `credits` only from an equal or newer credit_seq.
 *
 * Settled charges go into one shared queue in the same script that ends the
 * hold, each with the log row of its request (an opaque entry, see
 * modules/billing/billing.charges.ts); any replica claims batches from it
 * (claim = move to `usage-batch:<id>` + a lease in `usage-batches`), writes
 * them — ledger and request logs — in one transaction that also records the
 * batch id (a retried batch is posted once), then deletes the batch. A replica
 * killed mid-load therefore loses no settled charge and no charged request's
 * log row: its queued entries and its claimed-but-unwritten batches are
 * flushed by the others once the lease expires. `usage-queue-bytes` counts the
 * queue's bytes (settle adds, a written batch subtracts).
 *
 * Spend caps — a project's monthly cap (`proj:<project>:<YYYY-MM>`), a key's
 * budget, an end user's budget — live next to the holds as counters (spent,
 * reserved), loaded from the ledger when missing and refreshed every few
 * seconds, and are checked in the same script as the balance; a hold records
 * the caps it counts against, and its charge is added to each of them.
 *
 * Amounts are integer micro-USD; Lua compares them as doubles, exact up to
 * 2^53 µ$ (about 9 billion dollars). Single Redis node (no Cluster).
 *
 * Redis unreachable: `failure: "closed"` (default) refuses priced requests
 * with 503 `billing_unavailable`; "open" admits them without a hold (the
 * charge is still written to the ledger, but the balance may go below zero
 * by what those requests cost). A settle that cannot reach Redis returns
 * `queued: false` and the caller writes the debit itself.
 */
import type { RedisConnection } from "../../platform/redis.js";
import { unavailable } from "../errors.js";
import { defineScripts } from "./redis-scripts.js";
import type { OrgSnapshot, ReservationStore, ReserveResult, SettleDebit, SettleResult, SpendCap } from "./store.js";

export interface AccountTotals {
  /** balance + usage: every credit ever posted. */
  creditsMicroUsd: bigint;
  usageMicroUsd: bigint;
  creditSeq: bigint;
}

export interface QueuedDebit {
  charged: bigint;
  entry: string;
}

export interface RedisStoreOptions {
  redis: RedisConnection;
  loadAccount(orgId: string): Promise<AccountTotals>;
  /** Posts one claimed batch; must be idempotent by `batchId` (a retried batch is written once). */
  writeBatch(batchId: string, debits: QueuedDebit[]): Promise<void>;
  failure: "closed" | "open";
  /** false: prepaid credits are off (TOLLGATE_BILLING=off): holds count only against project caps. */
  credits?: boolean;
  onError(err: unknown, what: string): void;
  /** Re-read an account from the database at most this often (ms). */
  refreshMs?: number;
  flushIntervalMs?: number;
  batchSize?: number;
  /** A claimed batch not acknowledged within this time is taken over by another replica. */
  batchLeaseMs?: number;
  now?: () => number;
  newId(): string;
}

export const billingUnavailable = () => unavailable("billing_unavailable");

function isScriptError(err: unknown): boolean {
  const m = String((err as Error)?.message ?? "");
  return m.startsWith("ERR Error running script") || m.includes("user_script");
}

export function createRedisReservationStore(opts: RedisStoreOptions): ReservationStore & {
  /** Claims and writes every queued debit (and expired batches); resolves when the queue is empty. */
  drain(): Promise<number>;
  close(): Promise<void>;
  queueDepth(): Promise<number>;
  /** Bytes of queued entries as of this replica's last settle (log rows leave their bodies out past a budget). */
  queueBytes(): number;
} {
  const { redis } = opts;
  const client = defineScripts(redis.client);

  const now = opts.now ?? Date.now;
  const refreshMs = opts.refreshMs ?? 1_000;
  const leaseMs = opts.batchLeaseMs ?? 10_000;
  // Entries carry log rows (bodies up to 2 × 64 KB): batches of the request-log writer's size.
  const batchSize = opts.batchSize ?? 500;
  const k = {
    acct: (org: string) => redis.key(`credit:${org}`),
    holds: (org: string) => redis.key(`holds:${org}`),
    holdsAt: redis.key("holds-at"),
    settled: (org: string, req: string) => redis.key(`settled:${org}:${req}`),
    cap: (id: string) => redis.key(id),
    queue: redis.key("usage-queue"),
    batch: (id: string) => redis.key(`usage-batch:${id}`),
    batches: redis.key("usage-batches"),
    queueBytes: redis.key("usage-queue-bytes"),
  };
  /** The queue's size in bytes (queued and claimed-but-unwritten entries), as of this replica's last settle. */
  let queueBytes = 0;
  const loadedAt = new Map<string, number>();
  const capLoadedAt = new Map<string, number>();

  async function loadAccount(orgId: string) {
    const t = await opts.loadAccount(orgId);
    await client.tgLoad(
      k.acct(orgId),
      t.creditsMicroUsd.toString(),
      t.creditSeq.toString(),
      t.usageMicroUsd.toString(),
    );
    loadedAt.set(orgId, now());
  }
  async function loadCap(cap: SpendCap) {
    const spent = await cap.load();
    await client.tgLoadCap(k.cap(cap.id), spent.toString(), cap.ttlMs);
    if (capLoadedAt.size > 100_000) capLoadedAt.clear();
    capLoadedAt.set(cap.id, now());
  }

  async function callReserve(r: Parameters<ReservationStore["reserve"]>[0]) {
    const caps = r.caps ?? [];
    return client.tgReserve(
      4 + caps.length,
      k.acct(r.orgId),
      k.holds(r.orgId),
      k.holdsAt,
      k.settled(r.orgId, r.requestId),
      ...caps.map((c) => k.cap(c.id)),
      r.amount.toString(),
      r.requestId,
      `${r.orgId}|${r.requestId}`,
      now(),
      opts.credits === false ? "0" : "1",
      ...caps.map((c) => c.capMicroUsd.toString()),
    );
  }

  async function reserveViaRedis(r: Parameters<ReservationStore["reserve"]>[0]): Promise<ReserveResult> {
    // Keep the shared account fresh (grants, top-ups, refunds made elsewhere) without waiting for it.
    // (Also on this replica's first request for the org: Redis may hold an account another replica loaded long ago.)
    const at = loadedAt.get(r.orgId);
    if (at === undefined || now() - at > refreshMs) {
      loadedAt.set(r.orgId, now());
      void loadAccount(r.orgId).catch((err) => opts.onError(err, "refreshing a credit account in redis failed"));
    }
    // Keep the caps' spent figures fresh (charges other replicas wrote while theirs were down), without waiting.
    for (const cap of r.caps ?? []) {
      const at = capLoadedAt.get(cap.id);
      if (at !== undefined && now() - at > 5_000) {
        capLoadedAt.set(cap.id, now());
        void loadCap(cap).catch((err) => opts.onError(err, "refreshing a spend cap in redis failed"));
      }
    }
    let freshAccount = false;
    // Each missing counter (the account, each cap) is loaded once; a refusal for credits is re-read once.
    for (let attempt = 0; attempt < 3 + (r.caps?.length ?? 0); attempt++) {
      const res = await callReserve(r);
      const code = Number(res[0]);
      if (code === 1) return { ok: true };
      if (code === -1) {
        await loadAccount(r.orgId);
        freshAccount = true;
        continue;
      }
      if (code === -2) {
        await loadCap(r.caps![Number(res[1]) - 1]!);
        continue;
      }
      if (code === 2)
        return {
          ok: false,
          reason: "cap",
          cap: r.caps![Number(res[1]) - 1]!,
          spentMicroUsd: BigInt(res[2]!) + BigInt(res[3]!),
        };
      // Refused for credits: refuse only on a fresh read (a grant may have landed since).
      if (!freshAccount) {
        await loadAccount(r.orgId);
        freshAccount = true;
        continue;
      }
      const held = BigInt(res[3]!);
      const available = BigInt(res[1]!) - BigInt(res[2]!) - held;
      return { ok: false, reason: "credits", availableMicroUsd: available > 0n ? available : 0n, heldMicroUsd: held };
    }
    throw new Error("credit reservation did not settle after reloading the account");
  }

  let stopped = false;
  let draining: Promise<number> | null = null;

  async function writeClaimed(batchId: string, items: string[]) {
    let bytes = 0;
    const debits = items.map((raw) => {
      bytes += Buffer.byteLength(raw);
      const sep = raw.indexOf("|");
      return { charged: BigInt(raw.slice(0, sep)), entry: raw.slice(sep + 1) };
    });
    await opts.writeBatch(batchId, debits);
    await client.tgFinish(k.batch(batchId), k.batches, k.queueBytes, batchId, bytes);
  }

  async function drainOnce(): Promise<number> {
    let written = 0;
    // Batches whose owner died (or stalled past the lease) first: they are the oldest charges.
    for (;;) {
      const id = await client.tgReclaim(k.batches, now() - leaseMs, now());
      if (!id) break;
      const items = await redis.client.lrange(k.batch(id), 0, -1);
      if (items.length > 0) await writeClaimed(id, items);
      else await redis.client.zrem(k.batches, id);
      written += items.length;
    }
    for (;;) {
      const id = opts.newId();
      const items = await client.tgClaim(k.queue, k.batch(id), k.batches, batchSize, now(), id);
      if (items.length === 0) break;
      await writeClaimed(id, items);
      written += items.length;
      if (items.length < batchSize) break;
    }
    return written;
  }

  function drain(): Promise<number> {
    draining ??= drainOnce().finally(() => {
      draining = null;
    });
    return draining;
  }

  const timer = setInterval(() => {
    if (stopped || !redis.isUp()) return;
    drain().catch((err) =>
      opts.onError(err, "writing queued usage debits failed; they stay queued in redis and will be retried"),
    );
  }, opts.flushIntervalMs ?? 1_000);
  timer.unref();

  return {
    enforcesCaps: true,

    async reserve(r) {
      if (!redis.isUp()) {
        if (opts.failure === "closed") throw billingUnavailable();
        return { ok: true };
      }
      try {
        return await reserveViaRedis(r);
      } catch (err) {
        if (isScriptError(err)) throw err;
        opts.onError(err, "credit reservation in redis failed");
        if (opts.failure === "closed") throw billingUnavailable();
        return { ok: true };
      }
    },

    async settle(orgId, requestId, charge, debit?: SettleDebit): Promise<SettleResult> {
      if (!debit) throw new Error("the redis reservation store needs the debit to queue");
      try {
        const res = await client.tgSettle(
          k.acct(orgId),
          k.holds(orgId),
          k.holdsAt,
          k.settled(orgId, requestId),
          k.queue,
          k.queueBytes,
          requestId,
          charge.toString(),
          `${orgId}|${requestId}`,
          debit.entry,
          // A settle is repeated within seconds (never hours): an hour of results keeps Redis small at millions of requests a day.
          3_600,
        );
        const [charged, credits, usage, bytes] = res.split("|");
        queueBytes = Number(bytes);
        return { charged: BigInt(charged!), balanceMicroUsd: BigInt(credits!) - BigInt(usage!), queued: true };
      } catch (err) {
        if (isScriptError(err)) throw err;
        opts.onError(err, "settling a credit hold in redis failed; the charge is written by this replica instead");
        // The hold stays in Redis until the reconciler releases it; the charge is written by this replica.
        return { charged: charge > 0n ? charge : 0n, balanceMicroUsd: 0n, queued: false };
      }
    },

    async commitFlush(write) {
      // Debits this replica writes itself (Redis was unreachable at settle): nothing shared to adjust —
      // the next account refresh raises `usage` to the ledger's figure.
      await write();
    },

    invalidate(orgId) {
      loadedAt.delete(orgId);
      void loadAccount(orgId).catch((err) => opts.onError(err, "refreshing a credit account in redis failed"));
    },

    async snapshot(orgId): Promise<OrgSnapshot> {
      const t = await opts.loadAccount(orgId);
      const [usage, reserved] = await redis.client.hmget(k.acct(orgId), "usage", "reserved");
      const committed = t.creditsMicroUsd - t.usageMicroUsd;
      // Settled in Redis but not yet in the ledger.
      const unflushed = usage ? BigInt(usage) - t.usageMicroUsd : 0n;
      return {
        committedMicroUsd: committed,
        unflushedMicroUsd: unflushed > 0n ? unflushed : 0n,
        reservedMicroUsd: reserved ? BigInt(reserved) : 0n,
      };
    },

    async releaseStale(olderThanMs) {
      const members = await redis.client.zrangebyscore(k.holdsAt, "-inf", now() - olderThanMs, "LIMIT", 0, 1000);
      let n = 0;
      for (const member of members) {
        const sep = member.indexOf("|");
        const org = member.slice(0, sep);
        const req = member.slice(sep + 1);
        n += Number(await client.tgRelease(k.acct(org), k.holds(org), k.holdsAt, req, "", member));
      }
      return n;
    },

    drain,
    queueDepth: () => redis.client.llen(k.queue),
    queueBytes: () => queueBytes,

    async close() {
      stopped = true;
      clearInterval(timer);
      if (!redis.isUp()) return;
      try {
        await drain();
      } catch (err) {
        opts.onError(
          err,
          "final flush of queued usage debits failed; they stay queued in redis for the other replicas",
        );
      }
    },
  };
}
