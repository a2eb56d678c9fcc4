/**
 * The response cache on the chat path. A project with `cache.mode: "exact"`
 * looks every chat request up (after the input policy ran: policies apply to
 * the input of a hit too) unless the client sends `x-tollgate-cache:
 * no-store` (no read, no write). A hit is answered from the entry without an
 * upstream call — as a stream when it was one — with `x-tollgate-cache: hit`,
 * admitted and billed like a call to the target that served it, at the
 * operator's hit price (TOLLGATE_CACHE_HIT_PRICE_PERCENT of the usage's
 * price; 0 by default), and logged as a hit. A served target that no longer
 * resolves, or that the project may no longer use, makes the entry a miss.
 * A miss is answered by the provider and, when it completes, kept for the
 * project's TTL before the answer's last bytes go out (so the client's next
 * identical request finds it). Requests answered in the provider's own format (native
 * passthrough) are not cached.
 */
import type { GatewayCall } from "../call.js";
import { type CacheEntry, cacheKey, type ResponseCacheStore } from "../cache/cache.js";
import type { ProviderEntry } from "../catalog.js";
import type { InboundFormat } from "../inbound/format.js";
import type { InputBound, Settlement } from "../hooks.js";
import { admitTargets, routeInfo } from "../routing/admit.js";
import { modelAllowed, resolveName } from "../routing/router.js";
import type { ChatChunk, ChatRequest } from "../types.js";

export interface CacheRuntime {
  store: ResponseCacheStore;
  /** Percent of the usage's price a hit is billed at (0: free). */
  hitPricePercent: number;
}

/** Where the call's answer is cached: its key, or null when this call does not use the cache. */
export function cacheSlot(call: GatewayCall, req: ChatRequest, native: boolean, rt: CacheRuntime | undefined) {
  const settings = call.caller.cache;
  if (!rt || settings.mode !== "exact" || native) return null;
  if (String(call.x.req.headers["x-tollgate-cache"] ?? "").toLowerCase() === "no-store") return null;
  return { key: cacheKey(req.model ?? "", req), ttlSeconds: settings.ttlSeconds };
}

/** Keeps a completed answer (a failure is the store's to report: never the answer's). */
export function keep(
  rt: CacheRuntime,
  call: GatewayCall,
  slot: { key: string; ttlSeconds: number },
  entry: CacheEntry,
): Promise<void> {
  return rt.store.set(call.projectId, call.orgId, slot.key, entry, JSON.stringify(entry), slot.ttlSeconds);
}

/**
 * Answers the call from the cache when the entry is there and still servable; false on a miss (the
 * call goes upstream, marked a miss).
 */
export async function answerFromCache(
  call: GatewayCall,
  inbound: InboundFormat,
  rt: CacheRuntime,
  slot: { key: string },
  ctx: {
    req: ChatRequest;
    input: InputBound;
    providers: Map<string, ProviderEntry>;
    extra: (s: Settlement | undefined) => Record<string, unknown>;
  },
): Promise<boolean> {
  const { x, log } = call;
  const entry = (await rt.store.get(call.projectId, slot.key))?.entry;
  const target = entry ? resolveName(entry.served, ctx.providers) : null;
  if (!entry || !target || !modelAllowed(target.name, call.caller)) {
    log.cache = "miss";
    x.header("x-tollgate-cache", "miss");
    return false;
  }
  const { req } = ctx;
  const admitted = admitTargets(call, [target], call.hooks);
  call.pricePercent = rt.hitPricePercent;
  await call.reserve({
    routes: admitted.routes,
    input: ctx.input,
    maxOutputTokens: req.max_completion_tokens ?? req.max_tokens ?? null,
    choices: req.n ?? 1,
    pricePercent: rt.hitPricePercent,
  });
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

  if (entry.kind === "response" && entry.response) {
    const rendered = inbound.renderResponse(entry.response, target.name);
    const text = JSON.stringify(rendered);
    call.logResponseBody(rendered, text);
    call.costHeaders(await call.settle("ok"));
    await inbound.completed?.(req);
    x.sendJson(200, text);
    return true;
  }
  const sse = call.startStream();
  const renderer = inbound.streamRenderer(target.name, x.id, req);
  call.streamErrorFrames = (e) => renderer.error(e, x.id);
  let sent = "";
  for (const chunk of entry.chunks ?? []) {
    for (const c of chunk.choices) if (typeof c.delta.content === "string") sent += c.delta.content;
    const wait = sse.frames(renderer.chunk(chunk));
    if (wait) await wait;
  }
  call.logResponseBody(sent);
  const settlement = await call.settle("ok");
  const last = renderer.finish(call.usage, ctx.extra(settlement));
  await inbound.completed?.(req);
  await sse.frames(last);
  call.endStream(settlement);
  return true;
}

/** The chunks of a streamed answer as the client got them, for the cache (null: not recording). */
export function chunkRecorder(on: boolean): { push(c: ChatChunk): void; chunks: ChatChunk[] } | null {
  if (!on) return null;
  const chunks: ChatChunk[] = [];
  // The chunks are not changed once rendered: kept as they are, serialised when the answer is kept.
  return { chunks, push: (c) => chunks.push(c) };
}
