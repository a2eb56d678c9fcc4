/**
 * Same-format traffic on a chat call (e.g. /v1/messages to an Anthropic-format
 * provider): the request is scanned and sent as the client wrote it, the
 * answer returned as the provider gave it (inbound/format.ts `NativeFormat`).
 * Other targets of the same call (fallbacks of another format) get the
 * canonical translation — or none, when it would lose content.
 */
import type { GatewayCall } from "../call.js";
import { type ProviderEntry, speaksNatively } from "../catalog.js";
import type { InputBound, OutputScanner, Settlement } from "../hooks.js";
import type { InboundFormat, NativeFormat } from "../inbound/format.js";
import type { ChatResult, NativeEvent, NativeRequest } from "../providers/types.js";
import { type ResolvedTarget, type RoutingExtras, resolveTargets } from "../routing/router.js";
import { estimateUsage, inputBound } from "../tokens.js";
import type { ChatRequest } from "../types.js";

/** What the response cache keeps of a native answer: the answer as sent, or its stream's events. */
export type NativeKept = { kind: "native"; body: unknown } | { kind: "native_stream"; events: NativeEvent[] };

export interface PreparedChat {
  /** The canonical request (after the input policy). */
  req: ChatRequest;
  /** The client's request as written (after the input policy), for targets of its own format. */
  native?: NativeRequest;
  targets: ResolvedTarget[];
  input: InputBound;
}

/**
 * The request after the input policy, and its targets. Same-format traffic (the primary target speaks the
 * inbound API) is scanned and sent as written; everything else is translated to the canonical request first.
 */
export async function prepareChat(
  call: GatewayCall,
  inbound: InboundFormat,
  providers: Map<string, ProviderEntry>,
  extras: RoutingExtras,
): Promise<PreparedChat> {
  const nf = inbound.native;
  if (nf) {
    const opening = nf.open(call.x.body, call.x.req.headers);
    const targets = resolveTargets(opening.model, call.caller, providers, extras);
    if (targets[0] && speaksNatively(targets[0].provider, nf.api)) {
      const scanned = (await call.hooks.scanInput?.(call, opening.view)) ?? opening.view;
      const done = opening.finish(scanned);
      const kept = done.sameFormatOnly ? targets.filter((t) => speaksNatively(t.provider, nf.api)) : targets;
      return { req: done.canonical, native: done.native, targets: kept, input: done.input };
    }
    const translated = opening.translated();
    const req = (await call.hooks.scanInput?.(call, translated)) ?? translated;
    return { req, targets, input: inputBound(req) };
  }
  let req = inbound.toCanonical(call.x.body);
  req = (await call.hooks.scanInput?.(call, req)) ?? req;
  return { req, targets: resolveTargets(req.model, call.caller, providers, extras), input: inputBound(req) };
}

/**
 * The answer of a native call: whole, or streamed event by event. With `keep` (the response cache), the
 * answer as the client got it — the stream's events as sent, the closing ones without the cost
 * extension — is handed over before its last bytes go out, when the provider reported the usage.
 */
export async function answerNative(
  call: GatewayCall,
  nf: NativeFormat,
  result: Extract<ChatResult, { kind: "native" | "native_stream" }>,
  model: string,
  scanner: OutputScanner | undefined,
  after: {
    req: ChatRequest;
    extra(s: Settlement | undefined): Record<string, unknown>;
    /** The answer is rendered and about to be sent (inbound/format.ts `completed`). */
    completed?(): Promise<void>;
    keep?(kept: NativeKept): Promise<void>;
  },
): Promise<void> {
  const x = call.x;
  if (result.kind === "native") {
    const rendered = nf.renderWhole(result.body, model, scanner);
    call.usage = result.usage ?? estimateUsage(after.req, JSON.stringify(result.body));
    call.markFirstByte();
    const text = JSON.stringify(rendered);
    call.logResponseBody(rendered, text);
    call.costHeaders(await call.settle("ok"));
    await after.completed?.();
    if (result.usage) await after.keep?.({ kind: "native", body: rendered });
    x.sendJson(200, text);
    return;
  }
  const sse = call.startStream();
  const streamer = nf.streamer(model, scanner);
  call.streamErrorFrames = (e) => streamer.error(e, x.id);
  const events: NativeEvent[] | null = after.keep ? [] : null;
  try {
    for await (const e of result.stream) {
      call.markFirstByte();
      const frames = streamer.event(e);
      if (events) for (const f of frames) if ("data" in f) events.push(f.data as NativeEvent);
      if (frames.length) {
        const wait = sse.frames(frames);
        if (wait) await wait;
      }
    }
    call.usage = result.usage() ?? estimateUsage(after.req, streamer.sent());
  } catch (err) {
    call.usage = result.usage() ?? estimateUsage(after.req, streamer.sent());
    throw err;
  }
  call.logResponseBody(streamer.sent());
  const settlement = await call.settle("ok");
  const closing = streamer.finish(call.usage, after.extra(settlement));
  await after.completed?.();
  if (events && result.usage()) {
    for (const f of closing) if ("data" in f) events.push(withoutCost(f.data as NativeEvent));
    await after.keep!({ kind: "native_stream", events });
  }
  await sse.frames(closing);
  call.endStream(settlement);
}

/** An event without Tollgate's cost extension (a replay gets the cost of its own call). */
function withoutCost(e: NativeEvent): NativeEvent {
  if (!("tollgate" in e)) return e;
  const { tollgate: _, ...rest } = e;
  return rest as NativeEvent;
}
