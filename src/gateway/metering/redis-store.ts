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
 * hold; any replica claims batches from it (claim = move to `usage-batch:<id>`
 * + a lease in `usage-batches`), writes them to the ledger in one transaction
 * that also records the batch id (a retried batch is posted once), then
 * deletes the batch. A replica killed mid-load therefore loses no settled
 * charge: its queued debits and its claimed-but-unwritten batches are flushed
 * by the others once the lease expires.
 *
 * Project monthly caps live next to the holds (`proj:<project>:<YYYY-MM>`:
 * spent, reserved) and are checked in the same script as the balance.
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
import { GatewayError } from "../errors.js";
import type { OrgSnapshot, ReservationStore, ReserveResult, SettleDebit, SettleResult } from "./store.js";

/** KEYS: acct, holds, holdsAt, settled, proj. ARGV: amount, requestId, member, nowMs, cap (-1: none), checkCredits ("1"/"0"). */
const RESERVE = `
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {1} end
local a = redis.call('HMGET', KEYS[1], 'credits', 'usage', 'reserved')
if not a[1] then return {-1} end
local amount = tonumber(ARGV[1])
local cap = tonumber(ARGV[5])
if cap >= 0 then
  local p = redis.call('HMGET', KEYS[5], 'spent', 'reserved')
  if not p[1] then return {-2} end
  local spent = tonumber(p[1]) + (tonumber(p[2]) or 0)
  if amount > 0 and spent + amount > cap then return {2, tostring(p[1]), tostring(p[2] or '0')} end
end
local reserved = tonumber(a[3]) or 0
local avail = tonumber(a[1]) - (tonumber(a[2]) or 0) - reserved
if ARGV[6] == '1' and amount > 0 and avail < amount then return {0, a[1], a[2] or '0', a[3] or '0'} end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
local pk = ''
if cap >= 0 then
  redis.call('HINCRBY', KEYS[5], 'reserved', ARGV[1])
  pk = KEYS[5]
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1] .. '|' .. pk)
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
return {1}
`;

/** Ends a hold (shared by settle and release). Leaves amountStr/amount set. */
const END_HOLD = `
local h = redis.call('HGET', KEYS[2], ARGV[1])
local amountStr = '0'
if h then
  local sep = string.find(h, '|', 1, true)
  amountStr = string.sub(h, 1, sep - 1)
  local pk = string.sub(h, sep + 1)
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[3])
  if amountStr ~= '0' then
    redis.call('HINCRBY', KEYS[1], 'reserved', '-' .. amountStr)
    if pk ~= '' then redis.call('HINCRBY', pk, 'reserved', '-' .. amountStr) end
  end
end
local amount = tonumber(amountStr)
`;

/**
 * KEYS: acct, holds, holdsAt, settled, queue, proj. ARGV: requestId, charge, member, entry, ttlSeconds. Returns "charged|credits|usage".
 * The charge is the actual usage, never capped by the hold: an overrun (usage beyond the hold) is charged in full.
 */
const SETTLE = `
local done = redis.call('GET', KEYS[4])
if done then return done end
${END_HOLD}
local chargedStr = ARGV[2]
local charge = tonumber(ARGV[2])
if charge <= 0 then chargedStr = '0' end
redis.call('HINCRBY', KEYS[1], 'usage', chargedStr)
if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('HINCRBY', KEYS[6], 'spent', chargedStr) end
redis.call('RPUSH', KEYS[5], chargedStr .. '|' .. ARGV[4])
local a = redis.call('HMGET', KEYS[1], 'credits', 'usage')
local res = chargedStr .. '|' .. (a[1] or '0') .. '|' .. (a[2] or '0')
redis.call('SET', KEYS[4], res, 'EX', ARGV[5])
return res
`;

/** KEYS: acct, holds, holdsAt. ARGV: requestId, (unused), member. */
const RELEASE = `
${END_HOLD}
if not h then redis.call('ZREM', KEYS[3], ARGV[3]) return 0 end
return 1
`;

/** KEYS: acct. ARGV: credits, seq, usage. Newer-or-equal credit version wins; usage only ever rises. */
const LOAD = `
local s = redis.call('HGET', KEYS[1], 'seq')
if (not s) or tonumber(ARGV[2]) >= tonumber(s) then redis.call('HSET', KEYS[1], 'credits', ARGV[1], 'seq', ARGV[2]) end
local u = redis.call('HGET', KEYS[1], 'usage')
if (not u) or tonumber(ARGV[3]) > tonumber(u) then redis.call('HSET', KEYS[1], 'usage', ARGV[3]) end
redis.call('HSETNX', KEYS[1], 'reserved', '0')
return 1
`;

/** KEYS: proj. ARGV: flushedSpent, ttlMs. */
const LOAD_PROJECT = `
local u = redis.call('HGET', KEYS[1], 'spent')
if (not u) or tonumber(ARGV[1]) > tonumber(u) then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end
redis.call('HSETNX', KEYS[1], 'reserved', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS: queue, batchKey, batches. ARGV: max, nowMs, batchId. Moves up to max entries into a leased batch. */
const CLAIM = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return items
`;

/** KEYS: batches. ARGV: cutoffMs, nowMs. Takes over the oldest batch whose lease expired. */
const RECLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], ids[1])
return ids[1]
`;

type Scripted = {
  tgReserve(acct: string, holds: string, holdsAt: string, settled: string, proj: string, amount: string, req: string, member: string, now: number, cap: string, checkCredits: string): Promise<Array<number | string>>;
  tgSettle(acct: string, holds: string, holdsAt: string, settled: string, queue: string, proj: string, req: string, charge: string, member: string, entry: string, ttl: number): Promise<string>;
  tgRelease(acct: string, holds: string, holdsAt: string, req: string, unused: string, member: string): Promise<number>;
  tgLoad(acct: string, credits: string, seq: string, usage: string): Promise<number>;
  tgLoadProject(proj: string, spent: string, ttlMs: number): Promise<number>;
  tgClaim(queue: string, batchKey: string, batches: string, max: number, now: number, batchId: string): Promise<string[]>;
  tgReclaim(batches: string, cutoff: number, now: number): Promise<string | null>;
};

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
  /** Month-to-date spend of a project already in the ledger (month start given as a Date). */
  loadProjectSpend(projectId: string, monthStart: Date): Promise<bigint>;
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

export const billingUnavailable = () =>
  new GatewayError(503, "api_error", "billing_unavailable", "Credits cannot be checked right now (the shared billing store is unreachable). Retry shortly.", "gateway", { "retry-after": "1" });

function isScriptError(err: unknown): boolean {
  const m = String((err as Error)?.message ?? "");
  return m.startsWith("ERR Error running script") || m.includes("user_script");
}

export function createRedisReservationStore(opts: RedisStoreOptions): ReservationStore & {
  /** Claims and writes every queued debit (and expired batches); resolves when the queue is empty. */
  drain(): Promise<number>;
  close(): Promise<void>;
  queueDepth(): Promise<number>;
} {
  const { redis } = opts;
  const client = redis.client as unknown as Scripted;
  const define = (name: string, keys: number, lua: string) => {
    if (!(redis.client as unknown as Record<string, unknown>)[name]) redis.client.defineCommand(name, { numberOfKeys: keys, lua });
  };
  define("tgReserve", 5, RESERVE);
  define("tgSettle", 6, SETTLE);
  define("tgRelease", 3, RELEASE);
  define("tgLoad", 1, LOAD);
  define("tgLoadProject", 1, LOAD_PROJECT);
  define("tgClaim", 3, CLAIM);
  define("tgReclaim", 1, RECLAIM);

  const now = opts.now ?? Date.now;
  const refreshMs = opts.refreshMs ?? 1_000;
  const leaseMs = opts.batchLeaseMs ?? 10_000;
  const batchSize = opts.batchSize ?? 1_000;
  const k = {
    acct: (org: string) => redis.key(`credit:${org}`),
    holds: (org: string) => redis.key(`holds:${org}`),
    holdsAt: redis.key("holds-at"),
    settled: (org: string, req: string) => redis.key(`settled:${org}:${req}`),
    proj: (project: string, month: string) => redis.key(`proj:${project}:${month}`),
    queue: redis.key("usage-queue"),
    batch: (id: string) => redis.key(`usage-batch:${id}`),
    batches: redis.key("usage-batches"),
  };
  const loadedAt = new Map<string, number>();
  const projectLoadedAt = new Map<string, number>();

  async function loadAccount(orgId: string) {
    const t = await opts.loadAccount(orgId);
    await client.tgLoad(k.acct(orgId), t.creditsMicroUsd.toString(), t.creditSeq.toString(), t.usageMicroUsd.toString());
    loadedAt.set(orgId, now());
  }
  async function loadProject(projectId: string, month: string) {
    const [y, m] = month.split("-").map(Number);
    const spent = await opts.loadProjectSpend(projectId, new Date(Date.UTC(y!, m! - 1, 1)));
    await client.tgLoadProject(k.proj(projectId, month), spent.toString(), 40 * 24 * 3_600_000);
    projectLoadedAt.set(`${projectId}:${month}`, now());
  }

  async function callReserve(r: Parameters<ReservationStore["reserve"]>[0]) {
    return client.tgReserve(
      k.acct(r.orgId),
      k.holds(r.orgId),
      k.holdsAt,
      k.settled(r.orgId, r.requestId),
      r.project ? k.proj(r.project.id, r.project.month) : k.acct(r.orgId),
      r.amount.toString(),
      r.requestId,
      `${r.orgId}|${r.requestId}`,
      now(),
      r.project ? r.project.capMicroUsd.toString() : "-1",
      opts.credits === false ? "0" : "1",
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
    if (r.project) {
      const pk = `${r.project.id}:${r.project.month}`;
      const pat = projectLoadedAt.get(pk);
      if (pat !== undefined && now() - pat > 5_000) {
        projectLoadedAt.set(pk, now());
        void loadProject(r.project.id, r.project.month).catch((err) => opts.onError(err, "refreshing a project's spend in redis failed"));
      }
    }
    let freshAccount = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const res = await callReserve(r);
      const code = Number(res[0]);
      if (code === 1) return { ok: true };
      if (code === -1) {
        await loadAccount(r.orgId);
        freshAccount = true;
        continue;
      }
      if (code === -2) {
        await loadProject(r.project!.id, r.project!.month);
        continue;
      }
      if (code === 2) return { ok: false, reason: "cap", spentMicroUsd: BigInt(res[1]!) + BigInt(res[2]!) };
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
    const debits = items.map((raw) => {
      const sep = raw.indexOf("|");
      return { charged: BigInt(raw.slice(0, sep)), entry: raw.slice(sep + 1) };
    });
    await opts.writeBatch(batchId, debits);
    await redis.client.multi().del(k.batch(batchId)).zrem(k.batches, batchId).exec();
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
    drain().catch((err) => opts.onError(err, "writing queued usage debits failed; they stay queued in redis and will be retried"));
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
          k.proj(debit.projectId, debit.month),
          requestId,
          charge.toString(),
          `${orgId}|${requestId}`,
          debit.entry,
          // A settle is repeated within seconds (never hours): an hour of results keeps Redis small at millions of requests a day.
          3_600,
        );
        const [charged, credits, usage] = res.split("|");
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
      return { committedMicroUsd: committed, unflushedMicroUsd: unflushed > 0n ? unflushed : 0n, reservedMicroUsd: reserved ? BigInt(reserved) : 0n };
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

    async close() {
      stopped = true;
      clearInterval(timer);
      if (!redis.isUp()) return;
      try {
        await drain();
      } catch (err) {
        opts.onError(err, "final flush of queued usage debits failed; they stay queued in redis for the other replicas");
      }
    },
  };
}
