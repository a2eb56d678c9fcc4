/**
 * Chat completions and Anthropic messages, whatever API the call came in on:
 *   canonical request → scan input → route → reserve → call (retries and
 *   fallbacks before the first byte) → scan output → answer (JSON or SSE) →
 *   settle. The call (call.ts) logs, settles once and answers errors.
 *
 * Once the first byte of a stream is sent, failures end the stream with an
 * error event — never a hang, never a replay.
 */
import { formatUsd } from "../../platform/money.js";
import type { GatewayCall } from "../call.js";
import type { ProviderEntry } from "../catalog.js";
import type { OutputScanner, Settlement } from "../hooks.js";
import type { InboundFormat } from "../inbound/format.js";
import { admitTargets, routeInfo } from "../routing/admit.js";
import { countTried } from "../request-log.js";
import type { Executor } from "../routing/executor.js";
import type { RoutingExtras } from "../routing/router.js";
import { estimateUsage } from "../tokens.js";
import type { ChatChunk, ChatRequest } from "../types.js";
import { usageToOpenAI } from "../types.js";
import { type CacheRuntime, keep } from "./cached.js";
import { answerFromCache, chatCacheSlot, chunkRecorder } from "./chat-cache.js";
import { answerNative, prepareChat } from "./chat-native.js";
import { StreamReasoning, StreamToolArgs, scanWhole } from "./chat-output.js";

export interface EndpointRuntime {
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  /** The response cache (projects that turn it on use it). */
  cache?: CacheRuntime;
  /** What else names resolve through for the organization: its virtual models, measured latencies. */
  routingExtras(orgId: string): Promise<RoutingExtras>;
  execute: Executor;
  /** A comment line this often while a stream waits for its first token (proxies must not see a dead connection). */
  heartbeatMs: number;
}

export async function serveChat(call: GatewayCall, inbound: InboundFormat, rt: EndpointRuntime): Promise<void> {
  const { x, hooks, log } = call;
  let req: ChatRequest | undefined;
  /** Raw upstream output (text and tool arguments), for the usage estimate only. */
  let generated = "";
  try {
    const providers = await rt.providersFor(call.orgId);
    const prepared = await prepareChat(call, inbound, providers, await rt.routingExtras(call.orgId));
    req = prepared.req;
    call.logRequestBody();
    const slot = chatCacheSlot(call, inbound, prepared, rt.cache);
    if (slot) {
      const ctx = {
        req,
        native: prepared.native !== undefined,
        input: prepared.input,
        providers,
        extra: settlementExtra,
      };
      if (await answerFromCache(call, inbound, rt.cache!, slot, ctx)) return;
    }
    const admitted = admitTargets(call, prepared.targets, hooks);
    await call.reserve({
      routes: admitted.routes,
      input: prepared.input,
      maxOutputTokens: req.max_completion_tokens ?? req.max_tokens ?? null,
      choices: req.n ?? 1,
    });

    // A slow first token must not look like a dead connection to proxies in between.
    let heartbeat: NodeJS.Timeout | undefined;
    if (req.stream) {
      heartbeat = setTimeout(function beat() {
        call.startStream().comment("tollgate processing");
        heartbeat = setTimeout(beat, rt.heartbeatMs);
      }, rt.heartbeatMs);
    }
    let exec: Awaited<ReturnType<Executor["chat"]>>;
    try {
      exec = await rt.execute.chat(admitted.targets, req, call.abort, log.attempts, prepared.native);
    } finally {
      clearTimeout(heartbeat);
    }
    call.route = routeInfo(exec.target);
    log.provider = exec.target.provider.slug;
    log.modelServed = exec.target.name;
    const scanner = hooks.outputScanner?.(call);
    x.header("x-tollgate-provider", exec.target.provider.slug);
    x.header("x-tollgate-model", exec.target.name);
    // Calls actually made upstream (retries included); targets skipped with an open circuit are not attempts.
    x.header("x-tollgate-attempts", String(countTried(exec.attempts)));
    if (exec.result.kind === "native" || exec.result.kind === "native_stream") {
      // Same-format traffic: the provider's own answer, through the output scanner.
      const sent = req;
      const served = exec.target.name;
      await answerNative(call, inbound.native!, exec.result, exec.target.name, scanner, {
        req: sent,
        extra: settlementExtra,
        completed: async () => inbound.completed?.(sent),
        keep: slot ? (kept) => keep(rt.cache!, call, slot, { ...kept, usage: call.usage!, served }) : undefined,
      });
      return;
    }

    if (exec.result.kind === "response") {
      const res = exec.result.response;
      if (scanner) scanWhole(res, scanner);
      call.usage = exec.result.usage ?? estimateUsage(req, res.choices.map((c) => c.message.content ?? "").join(""));
      call.markFirstByte();
      res.model = exec.target.name;
      res.usage = usageToOpenAI(call.usage);
      // Serialised once: the same text is sent and logged (before settle, which may write the record with the charge).
      const rendered = inbound.renderResponse(res, exec.target.name);
      const text = JSON.stringify(rendered);
      call.logResponseBody(rendered, text);
      call.costHeaders(await call.settle("ok"));
      await inbound.completed?.(req);
      // Kept (only with the usage the provider reported: a hit is billed for it) before the answer goes out,
      // so the client's next identical request finds it.
      if (slot && exec.result.usage)
        await keep(rt.cache!, call, slot, {
          kind: "response",
          response: res,
          usage: call.usage,
          served: exec.target.name,
        });
      x.sendJson(200, text);
      return;
    }

    // Streaming.
    const sse = call.startStream();
    const renderer = inbound.streamRenderer(exec.target.name, x.id, req);
    call.streamErrorFrames = (e) => renderer.error(e, x.id);
    const stream = exec.result;
    /** The text sent to the client, after the output scanner: what the log keeps. */
    let sent = "";
    // Choices whose text the scanner may still hold back (no finish_reason seen yet).
    const scanning = new Set<number>();
    const tools = scanner?.pushArgs && scanner.endArgs ? new StreamToolArgs(scanner as Required<OutputScanner>) : null;
    const reasoning = scanner ? new StreamReasoning(scanner) : null;
    let lastChunk: ChatChunk | undefined;
    const recorded = chunkRecorder(slot !== null);
    const render = (c: ChatChunk) => {
      recorded?.push(c);
      return renderer.chunk(c);
    };
    try {
      for await (const chunk of stream.stream) {
        call.markFirstByte();
        if (chunk.choices.length === 0) continue; // provider usage chunk: we send our own at the end
        // Held-back tool arguments released before this chunk's text, in a chunk of their own.
        let before: ChatChunk["choices"] | null = null;
        for (const choice of chunk.choices) {
          reasoning?.apply(choice);
          const text = choice.delta.content;
          if (typeof text === "string" && text) {
            generated += text;
            if (scanner) {
              const held = tools?.endAll(choice.index);
              if (held?.length) {
                before ??= [];
                before.push({ index: choice.index, delta: { tool_calls: held }, finish_reason: null });
              }
              choice.delta.content = scanner.push(text, choice.index);
              scanning.add(choice.index);
            }
          }
          if (tools && choice.delta.tool_calls?.length) {
            // Text before a tool call is released before it (Anthropic content blocks cannot interleave).
            if (scanning.delete(choice.index)) {
              const tail = scanner!.end(choice.index);
              if (tail)
                choice.delta.content = (typeof choice.delta.content === "string" ? choice.delta.content : "") + tail;
            }
            for (const d of choice.delta.tool_calls) generated += d.function?.arguments ?? "";
            choice.delta.tool_calls = tools.push(choice.index, choice.delta.tool_calls);
          }
          if (choice.finish_reason && scanner) {
            // What was held back follows this chunk's own text, in the same chunk (before the finish).
            const tail = scanner.end(choice.index);
            scanning.delete(choice.index);
            if (tail)
              choice.delta.content = (typeof choice.delta.content === "string" ? choice.delta.content : "") + tail;
            const held = tools?.endAll(choice.index);
            if (held?.length) choice.delta.tool_calls = [...(choice.delta.tool_calls ?? []), ...held];
          }
          if (typeof choice.delta.content === "string") sent += choice.delta.content;
        }
        chunk.model = exec.target.name;
        lastChunk = chunk;
        const frames = before
          ? [...render({ ...chunk, choices: before, usage: null }), ...render(chunk)]
          : render(chunk);
        const wait = sse.frames(frames);
        if (wait) await wait;
      }
      // A stream that ended without a finish_reason still gets what the scanner held back.
      const open = [...scanning, ...(tools?.choices() ?? []), ...(reasoning?.choices() ?? [])];
      for (const index of scanner && lastChunk ? new Set(open) : []) {
        const thought = reasoning?.end(index) ?? "";
        const tail = scanning.has(index) ? scanner!.end(index) : "";
        const held = tools?.endAll(index) ?? [];
        sent += tail;
        if (thought || tail || held.length) {
          await sse.frames(
            render({
              ...lastChunk!,
              choices: [
                {
                  index,
                  delta: {
                    ...(thought ? { reasoning_content: thought } : {}),
                    ...(tail ? { content: tail } : {}),
                    ...(held.length ? { tool_calls: held } : {}),
                  },
                  finish_reason: null,
                },
              ],
              usage: null,
            }),
          );
        }
      }
      call.usage = stream.usage() ?? estimateUsage(req, generated);
    } catch (err) {
      call.usage = stream.usage() ?? estimateUsage(req, generated);
      throw err;
    }
    // The text as the client received it (redacted), never the raw upstream text; kept before settle.
    call.logResponseBody(sent);
    const settlement = await call.settle("ok");
    const last = renderer.finish(call.usage, settlementExtra(settlement));
    await inbound.completed?.(req);
    if (slot && recorded && lastChunk && stream.usage()) {
      const entry = { kind: "stream" as const, chunks: recorded.chunks, usage: call.usage, served: exec.target.name };
      await keep(rt.cache!, call, slot, entry);
    }
    await sse.frames(last);
    call.endStream(settlement);
  } catch (err) {
    // A client that left is charged for what was generated until then.
    if (call.usage === undefined && call.abort.aborted && req) call.usage = estimateUsage(req, generated);
    // A stream that fails before the renderer exists still ends with an error event in this API's shape.
    const asked = req;
    call.streamErrorFrames ??= (e) =>
      inbound.streamRenderer(log.modelServed ?? "", x.id, asked ?? { model: "", messages: [] }).error(e, x.id);
    await call.fail(err);
  }
}

function settlementExtra(s: Settlement | undefined): Record<string, unknown> {
  if (!s) return {};
  return {
    cost_usd: formatUsd(s.costMicroUsd),
    ...(s.balanceMicroUsd !== undefined ? { balance_usd: formatUsd(s.balanceMicroUsd) } : {}),
  };
}
