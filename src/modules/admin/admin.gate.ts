/**
 * The gateway's check for disabled organizations: the set of disabled org ids
 * (a handful at most), read once and kept until an `org` (or `all`)
 * invalidation event or its lifetime from the bus (`maxAgeMs`: long on one
 * process or with a working shared bus, 1 second otherwise). Invariants:
 *  - a check on a fresh set makes no database round trip;
 *  - an event drops the set synchronously, so a disable answered to the
 *    operator is effective for the next request of this process;
 *  - a read that was in flight during an event is used once, never kept.
 */
import { GatewayError } from "../../gateway/errors.js";
import type { Db } from "../../platform/db/db.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import { disabledOrgIds } from "./admin.repo.js";

interface DisabledOrgGate {
  /**
   * Throws the gateway's `organization_disabled` error for a disabled organization: at once on a fresh
   * set (no promise on the gateway's path), after reading the set otherwise.
   */
  check(orgId: string): Promise<void> | void;
  close(): void;
}

export function createDisabledOrgGate(deps: {
  db: Db;
  bus: CacheInvalidationBus;
  now?: () => number;
}): DisabledOrgGate {
  const now = deps.now ?? Date.now;
  let ids = new Set<string>();
  let freshUntil = -Infinity;
  let generation = 0;
  let loading: Promise<Set<string>> | null = null;

  const unsubscribe = deps.bus.subscribe((e) => {
    if (e.scope !== "org" && e.scope !== "all") return;
    generation++;
    freshUntil = -Infinity;
  });

  function load(): Promise<Set<string>> {
    if (loading) return loading;
    const gen = generation;
    const p = disabledOrgIds(deps.db)
      .then((list) => {
        const set = new Set(list);
        if (gen === generation) {
          ids = set;
          freshUntil = now() + deps.bus.maxAgeMs(60_000);
        }
        return set;
      })
      .finally(() => {
        loading = null;
      });
    loading = p;
    return p;
  }

  return {
    check(orgId) {
      const refuse = (set: Set<string>) => {
        if (set.has(orgId)) throw new GatewayError("organization_disabled");
      };
      if (freshUntil > now()) return refuse(ids);
      return load().then(refuse);
    },
    close: () => unsubscribe(),
  };
}
