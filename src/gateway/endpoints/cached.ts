/**
 * The response cache's steps every cached endpoint shares (chat, in any API,
 * and embeddings): whether a call uses the cache (the project's mode, the
 * client's `x-tollgate-cache: no-store`), finding an answer still servable
 * (its served target resolves and the project or key may use it; otherwise a
 * miss, marked on the call), admitting a hit like a call to that target at
 * the operator's hit price, marking it on the call (log, headers, usage) and
 * keeping an answer. A store failure is a miss or nothing, never an error.
 */
import type { GatewayCall } from "../call.js";
import type { CacheEntry, ResponseCacheStore } from "../cache/cache.js";
import type { ProviderEntry } from "../catalog.js";
import type { RouteInfo } from "../hooks.js";
import { admitTargets, routeInfo } from "../routing/admit.js";
import { modelAllowed, type ResolvedTarget, resolveName } from "../routing/router.js";

export interface CacheRuntime {
  store: ResponseCacheStore;
  /** Percent of the usage's price a hit is billed at (0: free). */
  hitPricePercent: number;
}

/** Where a call's answer is cached: its key and how long it is kept. */
export interface CacheSlot {
  key: string;
  ttlSeconds: number;
}

/** The call's slot, or null when it does not use the cache (`key` is computed only when it does). */
export function cacheSlot(call: GatewayCall, rt: CacheRuntime | undefined, key: () => string): CacheSlot | null {
  const settings = call.caller.cache;
  if (!rt || settings.mode !== "exact") return null;
  if (String(call.x.req.headers["x-tollgate-cache"] ?? "").toLowerCase() === "no-store") return null;
  return { key: key(), ttlSeconds: settings.ttlSeconds };
}

/**
 * The cached answer and the target that served it, admitted by billing at the hit price (the caller
 * reserves with `routes`); null on a miss, marked as one. `kinds`: the entries this endpoint answers with.
 */
export async function findHit(
  call: GatewayCall,
  rt: CacheRuntime,
  slot: CacheSlot,
  providers: Map<string, ProviderEntry>,
  kinds: readonly CacheEntry["kind"][],
): Promise<{ entry: CacheEntry; target: ResolvedTarget; routes: RouteInfo[] } | null> {
  const found = (await rt.store.get(call.projectId, slot.key))?.entry;
  const entry = found && kinds.includes(found.kind) ? found : null;
  const target = entry ? resolveName(entry.served, providers) : null;
  if (!entry || !target || !modelAllowed(target.name, call.caller)) {
    call.log.cache = "miss";
    call.x.header("x-tollgate-cache", "miss");
    return null;
  }
  const { routes } = admitTargets(call, [target], call.hooks);
  call.pricePercent = rt.hitPricePercent;
  return { entry, target, routes };
}

/** Marks the (reserved) call a hit: its served target, the entry's usage, the headers, the first byte. */
export function markHit(call: GatewayCall, target: ResolvedTarget, entry: CacheEntry): void {
  const { x, log } = call;
  log.cache = "hit";
  log.provider = target.provider.slug;
  log.modelServed = target.name;
  call.route = routeInfo(target);
  call.usage = entry.usage;
  x.header("x-tollgate-cache", "hit");
  x.header("x-tollgate-provider", target.provider.slug);
  x.header("x-tollgate-model", target.name);
  x.header("x-tollgate-attempts", "0");
  call.markFirstByte();
}

/** Keeps a completed answer (a failure is the store's to report: never the answer's). */
export function keep(rt: CacheRuntime, call: GatewayCall, slot: CacheSlot, entry: CacheEntry): Promise<void> {
  return rt.store.set(call.projectId, call.orgId, slot.key, entry, JSON.stringify(entry), slot.ttlSeconds);
}
