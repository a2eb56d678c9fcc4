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
 * identical request finds it). A request sent to a provider as written (native
 * passthrough, e.g. /v1/messages to Anthropic) is keyed on what is sent, in its
 * API, and its answer kept as the client got it; APIs whose answers have
 * identities of their own (Responses) are not cached.
 */
import type { GatewayCall } from "../call.js";
import { cacheKey } from "../cache/cache.js";
import type { ProviderEntry } from "../catalog.js";
import type { InboundFormat } from "../inbound/format.js";
import type { InputBound, Settlement } from "../hooks.js";
import type { NativeEvent } from "../providers/types.js";
import type { ChatChunk, ChatRequest } from "../types.js";
import { type CacheRuntime, type CacheSlot, cacheSlot, findHit, markHit } from "./cached.js";
import { answerNative, type PreparedChat } from "./chat-native.js";

/**
 * Where the chat call's answer is cached, or null (no cache, `no-store`, or a request in a provider's own
 * API whose answers are not kept). A request sent as written is keyed on what it is sent as, in its API.
 */
export function chatCacheSlot(
  call: GatewayCall,
  inbound: InboundFormat,
  prepared: PreparedChat,
  rt: CacheRuntime | undefined,
): CacheSlot | null {
  const { req, native } = prepared;
  if (native && !inbound.native?.cacheable) return null;
  return cacheSlot(call, rt, () =>
    native ? cacheKey(req.model ?? "", native, native.api) : cacheKey(req.model ?? "", req),
  );
}

/** The entries an answer in the client's API is rendered from: canonical ones always, native ones for native requests. */
const CANONICAL = ["response", "stream"] as const;
const ANY = [...CANONICAL, "native", "native_stream"] as const;

/** A kept stream's events, replayed in order. */
async function* replay(events: NativeEvent[]): AsyncIterable<NativeEvent> {
  yield* events;
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
    /** The request is in a provider's own API (its answer may have been kept as that API's). */
    native: boolean;
    input: InputBound;
    providers: Map<string, ProviderEntry>;
    extra: (s: Settlement | undefined) => Record<string, unknown>;
  },
): Promise<boolean> {
  const { x } = call;
  const hit = await findHit(call, rt, slot, ctx.providers, ctx.native ? ANY : CANONICAL);
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

  if (entry.kind === "native" || entry.kind === "native_stream") {
    // Replayed through the API's own renderer, without a scanner: the answer as the first client got it.
    const kept = entry;
    const result =
      kept.kind === "native"
        ? { kind: "native" as const, body: kept.body as Record<string, unknown>, usage: kept.usage }
        : { kind: "native_stream" as const, stream: replay(kept.events ?? []), usage: () => kept.usage };
    await answerNative(call, inbound.native!, result, target.name, undefined, {
      req,
      extra: ctx.extra,
      completed: async () => inbound.completed?.(req),
    });
    return true;
  }
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
