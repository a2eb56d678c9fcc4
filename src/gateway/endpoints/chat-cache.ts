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
import { cacheKey } from "../cache/cache.js";
import type { ProviderEntry } from "../catalog.js";
import type { InboundFormat } from "../inbound/format.js";
import type { InputBound, Settlement } from "../hooks.js";
import type { ChatChunk, ChatRequest } from "../types.js";
import { type CacheRuntime, type CacheSlot, cacheSlot, findHit, markHit } from "./cached.js";

/** Where the chat call's answer is cached, or null (no cache, `no-store`, or answered in the provider's own format). */
export function chatCacheSlot(call: GatewayCall, req: ChatRequest, native: boolean, rt: CacheRuntime | undefined) {
  return native ? null : cacheSlot(call, rt, () => cacheKey(req.model ?? "", req));
}

/**
 * Answers the call from the cache when the entry is there and still servable; false on a miss (the
 * call goes upstream, marked a miss).
 */
export async function answerFromCache(
  call: GatewayCall,
  inbound: InboundFormat,
  rt: CacheRuntime,
  slot: CacheSlot,
  ctx: {
    req: ChatRequest;
    input: InputBound;
    providers: Map<string, ProviderEntry>;
    extra: (s: Settlement | undefined) => Record<string, unknown>;
  },
): Promise<boolean> {
  const { x } = call;
  const hit = await findHit(call, rt, slot, ctx.providers, ["response", "stream"]);
  if (!hit) return false;
  const { entry, target } = hit;
  const { req } = ctx;
  await call.reserve({
    routes: hit.routes,
    input: ctx.input,
    maxOutputTokens: req.max_completion_tokens ?? req.max_tokens ?? null,
    choices: req.n ?? 1,
    pricePercent: rt.hitPricePercent,
  });
  markHit(call, target, entry);

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
