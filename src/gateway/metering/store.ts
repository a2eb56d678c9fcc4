/**
 * Where credit holds live. Contract of every ReservationStore:
 *  - `reserve` admits a hold only if committed balance − unflushed debits −
 *    holds ≥ amount, atomically with respect to every other reserve of the
 *    organization (so N concurrent requests can never hold more than the
 *    balance); it is idempotent by request id;
 *  - `settle` ends a hold exactly once (a repeated call returns the first
 *    result), turning the actual charge into an unflushed debit and releasing
 *    the hold. The charge is never capped by the hold: usage beyond it (an
 *    overrun) is charged in full, and the balance may dip below zero by it;
 *  - `flushed` is called after usage debits committed to the ledger, so the
 *    store moves them from "unflushed" into the committed balance.
 *
 * `createMemoryStore` is the single-process store (embedded PGlite, or one
 * server on PostgreSQL): holds are in memory, the committed balance is read
 * from `billing_accounts` (refreshed in the background every `refreshMs`, and
 * synchronously before a refusal so a grant made by the CLI is seen at once).
 * Reads of the balance and the application of a flushed batch are serialised
 * by one mutex, so a refresh can never overwrite a debit applied meanwhile.
 */

/**
 * A spend limit a hold is checked against besides the balance: a project's monthly cap, a key's budget, an
 * end user's budget. Each is a counter of what was spent (charged) and is held in its period.
 */
export interface SpendCap {
  /** The counter's name, one per scope and period (e.g. `proj:<project>:2026-12`, `kbud:<key>:day:2026-12-04`). */
  id: string;
  kind: "project" | "key" | "user";
  capMicroUsd: bigint;
  /** The period it counts over (UTC), for messages. */
  period: "day" | "month" | "total";
  /** What the ledger already holds for it: the charges of its scope since its period began. */
  load(): Promise<bigint>;
  /** How long a shared counter is kept after its last load (longer than its period). */
  ttlMs: number;
}

export interface ReserveRequest {
  orgId: string;
  requestId: string;
  amount: bigint;
  /** The spend caps to check, by stores that `enforcesCaps` (the memory store leaves caps to the caller). */
  caps?: readonly SpendCap[];
}

export type ReserveResult =
  | { ok: true }
  | { ok: false; reason: "credits"; availableMicroUsd: bigint; heldMicroUsd: bigint }
  /** `cap`: the first cap the hold would pass; `spentMicroUsd`: spent and held against it. */
  | { ok: false; reason: "cap"; cap: SpendCap; spentMicroUsd: bigint };

export interface SettleResult {
  balanceMicroUsd: bigint;
  charged: bigint;
  /** True when the store queued the usage debit itself (Redis); false: the caller writes it. */
  queued: boolean;
}

/** What a store that queues debits needs to know to do so. `entry` is the caller's serialised debit. */
export interface SettleDebit {
  entry: string;
}

export interface OrgSnapshot {
  committedMicroUsd: bigint;
  unflushedMicroUsd: bigint;
  reservedMicroUsd: bigint;
}

export interface ReservationStore {
  /** True when `reserve` checks `project.capMicroUsd` itself (shared across replicas). */
  readonly enforcesCaps: boolean;
  reserve(r: ReserveRequest): Promise<ReserveResult>;
  /** Ends the hold and charges `charge` in full (never capped by the hold). Returns the balance after the charge (committed − unflushed). */
  settle(orgId: string, requestId: string, charge: bigint, debit?: SettleDebit): Promise<SettleResult>;
  /** Debits for these orgs are now in the ledger (and so in the committed balance). Runs `write` under the store's lock. */
  commitFlush(write: () => Promise<void>, debits: Map<string, bigint>): Promise<void>;
  /** The org's balance changed outside the gateway (grant, top-up): re-read it before the next admission. */
  invalidate(orgId: string): void;
  snapshot(orgId: string): Promise<OrgSnapshot>;
  /** Releases holds older than `olderThanMs` (a request that never settled); returns how many. */
  releaseStale(olderThanMs: number): Promise<number>;
}

interface OrgState {
  committed: bigint;
  unflushed: bigint;
  reserved: bigint;
  loadedAt: number;
  loading: Promise<void> | null;
  holds: Map<string, { amount: bigint; at: number }>;
  /** Results of settled requests (idempotent settle), bounded. */
  settled: Map<string, SettleResult>;
}

export function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return function run<T>(fn: () => Promise<T>): Promise<T> {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

export function createMemoryStore(deps: {
  loadBalance(orgId: string): Promise<bigint>;
  refreshMs?: number;
  now?: () => number;
  /** false: prepaid credits are off (TOLLGATE_BILLING=off): every hold is admitted (caps are the caller's). */
  credits?: boolean;
}): ReservationStore {
  const checkCredits = deps.credits !== false;
  const refreshMs = deps.refreshMs ?? 1_000;
  const now = deps.now ?? Date.now;
  const orgs = new Map<string, OrgState>();
  const locked = createMutex();

  function state(orgId: string): OrgState {
    let s = orgs.get(orgId);
    if (!s) {
      s = {
        committed: 0n,
        unflushed: 0n,
        reserved: 0n,
        loadedAt: -Infinity,
        loading: null,
        holds: new Map(),
        settled: new Map(),
      };
      orgs.set(orgId, s);
    }
    return s;
  }

  function load(orgId: string, s: OrgState): Promise<void> {
    s.loading ??= locked(async () => {
      s.committed = await deps.loadBalance(orgId);
      s.loadedAt = now();
    }).finally(() => {
      s.loading = null;
    });
    return s.loading;
  }

  const available = (s: OrgState) => s.committed - s.unflushed - s.reserved;

  function tryHold(s: OrgState, r: ReserveRequest): boolean {
    if (s.holds.has(r.requestId) || s.settled.has(r.requestId)) return true;
    if (checkCredits && r.amount > 0n && available(s) < r.amount) return false;
    s.holds.set(r.requestId, { amount: r.amount, at: now() });
    s.reserved += r.amount;
    return true;
  }

  return {
    enforcesCaps: false,
    async reserve(r) {
      const s = state(r.orgId);
      if (s.loadedAt === -Infinity) await load(r.orgId, s);
      else if (now() - s.loadedAt > refreshMs) void load(r.orgId, s).catch(() => undefined);
      // No await between the check and the hold: admissions of one org are serialised by the event loop.
      if (tryHold(s, r)) return { ok: true };
      // Refuse only on a fresh balance (a grant may have landed since the last read).
      await load(r.orgId, s);
      if (tryHold(s, r)) return { ok: true };
      return {
        ok: false,
        reason: "credits",
        availableMicroUsd: available(s) > 0n ? available(s) : 0n,
        heldMicroUsd: s.reserved,
      };
    },

    async settle(orgId, requestId, charge) {
      const s = state(orgId);
      const done = s.settled.get(requestId);
      if (done) return done;
      const hold = s.holds.get(requestId);
      const charged = charge > 0n ? charge : 0n;
      if (hold) {
        s.holds.delete(requestId);
        s.reserved -= hold.amount;
      }
      s.unflushed += charged;
      const result = { balanceMicroUsd: s.committed - s.unflushed, charged, queued: false };
      s.settled.set(requestId, result);
      if (s.settled.size > 10_000) s.settled.delete(s.settled.keys().next().value!);
      return result;
    },

    commitFlush(write, debits) {
      return locked(async () => {
        await write();
        for (const [orgId, amount] of debits) {
          const s = state(orgId);
          s.unflushed -= amount;
          s.committed -= amount;
        }
      });
    },

    invalidate(orgId) {
      const s = orgs.get(orgId);
      if (s && s.loadedAt !== -Infinity) s.loadedAt = 0;
    },

    async snapshot(orgId) {
      const s = state(orgId);
      await load(orgId, s);
      return { committedMicroUsd: s.committed, unflushedMicroUsd: s.unflushed, reservedMicroUsd: s.reserved };
    },

    async releaseStale(olderThanMs) {
      let n = 0;
      const cutoff = now() - olderThanMs;
      for (const s of orgs.values()) {
        for (const [id, h] of s.holds) {
          if (h.at < cutoff) {
            s.holds.delete(id);
            s.reserved -= h.amount;
            n++;
          }
        }
      }
      return n;
    },
  };
}
