/**
 * Spend caps counted in this process (one server without Redis): per cap
 * counter (billing.caps.ts), the charges not yet in the ledger, the holds in
 * flight, and what the ledger holds (re-read every 5 s; flushes add to it in
 * between). A check and the hold it admits happen with no await in between
 * (one event loop: no interleaving), so concurrent requests can never hold
 * past a cap together. A ledger read that a flush overtook is read again: a
 * charge is never counted neither as unflushed nor as flushed.
 */
import type { SpendCap } from "../../gateway/metering/store.js";

const REFRESH_MS = 5_000;
const MAX_COUNTERS = 50_000;

export function createLocalCaps() {
  const unflushed = new Map<string, bigint>();
  const held = new Map<string, bigint>();
  const ledger = new Map<string, { flushed: bigint; at: number }>();
  /** Bumped by every flush: a ledger read that spans one is stale. */
  let flushes = 0;
  const add = (m: Map<string, bigint>, k: string, v: bigint) => {
    const next = (m.get(k) ?? 0n) + v;
    if (next === 0n) m.delete(k);
    else m.set(k, next);
  };

  async function flushedOf(cap: SpendCap): Promise<bigint> {
    const hit = ledger.get(cap.id);
    if (hit && Date.now() - hit.at <= REFRESH_MS) return hit.flushed;
    for (let i = 0; ; i++) {
      const before = flushes;
      const flushed = await cap.load();
      if (before === flushes || i === 2) {
        if (ledger.size >= MAX_COUNTERS) ledger.clear();
        ledger.set(cap.id, { flushed, at: Date.now() });
        return flushed;
      }
    }
  }

  return {
    /**
     * Admits a hold of `amount` against every cap (counting it held), or returns the first cap it would pass
     * with what is spent and held against it.
     */
    async hold(caps: readonly SpendCap[], amount: bigint): Promise<{ cap: SpendCap; spentMicroUsd: bigint } | null> {
      if (caps.length === 0) return null;
      const flushed = await Promise.all(caps.map(flushedOf));
      // From here to the counting of the hold: no await.
      for (let i = 0; i < caps.length; i++) {
        const cap = caps[i]!;
        const spent = flushed[i]! + (unflushed.get(cap.id) ?? 0n) + (held.get(cap.id) ?? 0n);
        if (amount > 0n && spent + amount > cap.capMicroUsd) return { cap, spentMicroUsd: spent };
      }
      for (const cap of caps) add(held, cap.id, amount);
      return null;
    },
    /** A hold that was not used after all (the balance refused it). */
    release(caps: readonly SpendCap[], amount: bigint): void {
      for (const cap of caps) add(held, cap.id, -amount);
    },
    /** A hold ended with a charge (not yet in the ledger). */
    charged(caps: readonly SpendCap[], hold: bigint, charge: bigint): void {
      for (const cap of caps) {
        add(held, cap.id, -hold);
        add(unflushed, cap.id, charge);
      }
    },
    /** Charges now in the ledger, per cap counter. */
    flushed(perCap: ReadonlyMap<string, bigint>): void {
      flushes++;
      for (const [id, v] of perCap) {
        add(unflushed, id, -v);
        const c = ledger.get(id);
        if (c) c.flushed += v;
      }
    },
  };
}
