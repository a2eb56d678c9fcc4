/**
 * What the gateway routes virtual model names with, per organization: the
 * names and their targets, cached; any change drops the organization's entry
 * on this replica and, through the invalidation bus, on every replica.
 */
import type { VirtualModel } from "../../gateway/routing/router.js";
import type { Db } from "../../platform/db/db.js";
import * as repo from "./virtual-models.repo.js";

export interface VirtualModelDirectory {
  virtualModelsFor(orgId: string): Promise<ReadonlyMap<string, VirtualModel>>;
  /** Drops one organization's entry, or every entry without an argument. */
  invalidate(orgId?: string): void;
}

const NONE: ReadonlyMap<string, VirtualModel> = new Map();

export function createVirtualModelDirectory(deps: { db: Db; ttlMs: () => number }): VirtualModelDirectory {
  const cache = new Map<string, { until: number; value: Promise<ReadonlyMap<string, VirtualModel>> }>();
  return {
    virtualModelsFor(orgId) {
      const hit = cache.get(orgId);
      if (hit && Date.now() < hit.until) return hit.value;
      const value = repo
        .listForOrg(deps.db, orgId)
        .then((rows) =>
          rows.length === 0
            ? NONE
            : new Map(rows.map((r) => [r.name, { name: r.name, strategy: r.strategy, targets: r.targets }])),
        );
      value.catch(() => cache.delete(orgId));
      cache.set(orgId, { until: Date.now() + deps.ttlMs(), value });
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
      return value;
    },
    invalidate(orgId) {
      if (orgId === undefined) cache.clear();
      else cache.delete(orgId);
    },
  };
}
