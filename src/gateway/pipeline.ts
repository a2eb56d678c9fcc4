/**
 * One chat request through the gateway, whatever API it came in on:
 *   scan input → route → reserve → call (retries/fallbacks before the first
 *   byte) → scan output → answer (JSON or SSE) → settle → log.
 *
 * Invariants:
 *  - settle runs exactly once for every reserve, in `finally`, with the usage
 *    known then (estimated for an aborted stream that never reported usage);
 *  - one log entry per request, enqueued (never written on the request path);
 *  - once the first byte of a stream is sent, failures end the stream with an
 *    error event — never a hang, never a replay;
 *  - a client disconnect aborts the upstream call at once.
 */
import { CallAbort } from "./abort.js";
import { formatUsd } from "../platform/money.js";
import type { ProviderEntry } from "./catalog.js";
import { fromUpstream, GatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import type { GatewayHooks, GatewayRequestContext, LogMasker, OutputScanner, RouteInfo, Settlement } from "./hooks.js";
import { bodyForLog, logMaskerFor } from "./log-body.js";
import { UpstreamError } from "./providers/types.js";
import type { Executor, Attempt } from "./routing/executor.js";
import { admitTargets, routeInfo } from "./routing/admit.js";
import { resolveTargets, type RoutingSettings } from "./routing/router.js";
import { createSseWriter, type SseWriter } from "./sse.js";
import { estimateInputTokens, estimateTextTokens, inputBound } from "./tokens.js";
import {
  type ChatChunk,
  type ChatRequest,
  type ChatResponse,
  type ToolCallDelta,
  type Usage,
  contentText,
  usageToOpenAI,
} from "./types.js";

export interface GatewayKey {
  keyId: string;
  orgId: string;
  projectId: string;
  environment: "live" | "test";
  logBodies: boolean;
  /** Answers may carry the organization's balance. */
  revealBalance: boolean;
  routing: RoutingSettings;
}

export interface RequestLogEntry {
  id: string;
  orgId: string;
  projectId: string;
  keyId: string;
  createdAt: Date;
  endpoint: "chat" | "messages" | "embeddings";
  modelRequested: string | null;
  modelServed: string | null;
  provider: string | null;
  status: number;
  outcome: "ok" | "error" | "client_aborted";
  errorCode: string | null;
  errorSource: "gateway" | "upstream" | null;
  usage: Usage | null;
  costMicroUsd: bigint | null;
  latencyMs: number;
  ttftMs: number | null;
  attempts: Attempt[];
  clientIp: string;
  user: string | null;
  stream: boolean;
  requestBody: unknown;
  responseBody: unknown;
  /** The security policy's verdict (masked findings), set by the log sink; absent when nothing was found. */
  policy?: unknown;
}

/** How one inbound API (OpenAI chat, Anthropic messages) maps to and from the canonical format. */
export interface InboundFormat {
  endpoint: "chat" | "messages";
  toCanonical(body: unknown): ChatRequest;
  renderResponse(res: ChatResponse, model: string): unknown;
  streamRenderer(model: string, requestId: string): StreamRenderer;
  errorBody(e: GatewayError, requestId: string): unknown;
}

export interface StreamRenderer {
  /** SSE frames for one canonical chunk (event name optional). */
  chunk(c: ChatChunk): Array<{ event?: string; data: unknown }>;
  /** Closing frames, with final usage and the Tollgate cost extension. */
  finish(
    usage: Usage | undefined,
    extra: Record<string, unknown>,
  ): Array<{ event?: string; data: unknown } | { raw: string }>;
  error(e: GatewayError, requestId: string): Array<{ event?: string; data: unknown } | { raw: string }>;
}

export interface PipelineDeps {
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  execute: Executor;
  hooks: GatewayHooks;
  log(entry: RequestLogEntry): void;
  /** Bytes of a body kept in the log. */
  logBodyLimit: number;
  heartbeatMs: number;
  /** Aborted at the shutdown deadline: requests still running end with a 503 `server_shutting_down` (an error event for streams). */
  shutdown?: AbortSignal;
}

const SHUTTING_DOWN = "tollgate-shutdown";

export { JsonText } from "./log-body.js";

export function createChatPipeline(deps: PipelineDeps) {
  /** Requests running now: the shutdown deadline aborts them (one listener, not one per request). */
  const inFlight = new Set<CallAbort>();
  deps.shutdown?.addEventListener(
    "abort",
    () => {
      for (const a of inFlight) a.abort(SHUTTING_DOWN);
    },
    { once: true },
  );
  /** Answers one request (errors included); resolves with the usage it consumed, for token-rate limits. */
  return async function run(x: Exchange, key: GatewayKey, inbound: InboundFormat): Promise<Usage | null> {
    const started = performance.now();
    const startedAt = new Date();
    const ctx: GatewayRequestContext = {
      requestId: x.id,
      orgId: key.orgId,
      projectId: key.projectId,
      keyId: key.keyId,
      environment: key.environment,
      endpoint: inbound.endpoint,
      startedAt,
      revealBalance: key.revealBalance,
      logBodies: key.logBodies,
    };
    const entry: RequestLogEntry = {
      id: x.id,
      orgId: key.orgId,
      projectId: key.projectId,
      keyId: key.keyId,
      createdAt: startedAt,
      endpoint: inbound.endpoint,
      modelRequested: null,
      modelServed: null,
      provider: null,
      status: 200,
      outcome: "ok",
      errorCode: null,
      errorSource: null,
      usage: null,
      costMicroUsd: null,
      latencyMs: 0,
      ttftMs: null,
      attempts: [],
      clientIp: x.ip,
      user: null,
      stream: false,
      requestBody: null,
      responseBody: null,
    };
    let reservation: unknown;
    let reserved = false;
    let route: RouteInfo | null = null;
    let usage: Usage | undefined;
    let settleOutcome: "ok" | "upstream_error" | "client_aborted" | "gateway_error" = "gateway_error";
    let sse: SseWriter | null = null;
    /** Raw upstream output (text and tool arguments), for the usage estimate only. */
    let generated = "";
    /** The text sent to the client, after the output scanner: what the log keeps. */
    let sent = "";
    let req: ChatRequest | undefined;
    let masker: LogMasker | undefined;
    const logMasker = () => (masker ??= logMaskerFor(deps.hooks, ctx));
    let requestLogged = !key.logBodies;
    /** Masked with what scanInput found, and before settle (which may write the log row). */
    const logRequestBody = () => {
      if (requestLogged) return;
      requestLogged = true;
      entry.requestBody = bodyForLog(logMasker().request(x.body), x.body, x.bodyText, deps.logBodyLimit);
    };
    const abort = new CallAbort();
    const onClose = () => {
      if (!x.res.writableFinished) abort.abort();
    };
    x.res.on("close", onClose);
    if (deps.shutdown?.aborted) abort.abort(SHUTTING_DOWN);
    else inFlight.add(abort);

    try {
      req = inbound.toCanonical(x.body);
      entry.modelRequested = req.model || null;
      entry.user = typeof req.user === "string" ? req.user.slice(0, 256) : null;
      entry.stream = req.stream === true;
      req = (await deps.hooks.scanInput?.(ctx, req)) ?? req;
      logRequestBody();
      const admitted = admitTargets(
        ctx,
        resolveTargets(req.model, key.routing, await deps.providersFor(key.orgId)),
        deps.hooks,
      );
      const targets = admitted.targets;
      route = admitted.routes[0]!;
      reservation = await deps.hooks.reserve?.(ctx, {
        routes: admitted.routes,
        input: inputBound(req),
        maxOutputTokens: req.max_completion_tokens ?? req.max_tokens ?? null,
        choices: req.n ?? 1,
      });
      reserved = true;

      // A slow first token must not look like a dead connection to proxies in between.
      let heartbeat: NodeJS.Timeout | undefined;
      if (req.stream) {
        heartbeat = setTimeout(function beat() {
          sse ??= createSseWriter(x.res);
          sse.start(x.headers);
          sse.comment("tollgate processing");
          heartbeat = setTimeout(beat, deps.heartbeatMs);
        }, deps.heartbeatMs);
      }
      let exec;
      try {
        exec = await deps.execute(targets, req, abort.signal, entry.attempts);
      } finally {
        clearTimeout(heartbeat);
      }
      route = routeInfo(exec.target);
      entry.provider = exec.target.provider.slug;
      entry.modelServed = exec.target.name;
      const scanner = deps.hooks.outputScanner?.(ctx);
      x.header("x-tollgate-provider", exec.target.provider.slug);
      x.header("x-tollgate-model", exec.target.name);
      // Calls actually made upstream (retries included); targets skipped with an open circuit are not attempts.
      x.header("x-tollgate-attempts", String(countTried(exec.attempts)));

      if (exec.result.kind === "response") {
        const res = exec.result.response;
        if (scanner) scanWhole(res, scanner);
        usage = exec.result.usage ?? {
          inputTokens: estimateInputTokens(req),
          cachedInputTokens: 0,
          outputTokens: estimateTextTokens(res.choices.map((c) => c.message.content ?? "").join("")),
          estimated: true,
        };
        entry.ttftMs = Math.round(performance.now() - started);
        settleOutcome = "ok";
        res.model = exec.target.name;
        res.usage = usageToOpenAI(usage);
        // Serialised once: the same text is sent and logged (before settle, which may write the log row with the charge).
        const rendered = inbound.renderResponse(res, exec.target.name);
        const text = JSON.stringify(rendered);
        if (key.logBodies)
          entry.responseBody = bodyForLog(logMasker().response(rendered), rendered, text, deps.logBodyLimit);
        const settlement = await settleOnce();
        if (settlement) {
          x.header("x-tollgate-cost-usd", formatUsd(settlement.costMicroUsd));
          if (settlement.balanceMicroUsd !== undefined)
            x.header("x-tollgate-balance-usd", formatUsd(settlement.balanceMicroUsd));
        }
        x.sendJson(200, text);
        return usage;
      }

      // Streaming.
      sse ??= createSseWriter(x.res);
      sse.start(x.headers);
      const renderer = inbound.streamRenderer(exec.target.name, x.id);
      const stream = exec.result;
      // Choices whose text the scanner may still hold back (no finish_reason seen yet).
      const scanning = new Set<number>();
      const tools =
        scanner?.pushArgs && scanner.endArgs ? new StreamToolArgs(scanner as Required<OutputScanner>) : null;
      let lastChunk: ChatChunk | undefined;
      try {
        for await (const chunk of stream.stream) {
          if (entry.ttftMs === null) entry.ttftMs = Math.round(performance.now() - started);
          if (chunk.choices.length === 0) continue; // provider usage chunk: we send our own at the end
          // Held-back tool arguments released before this chunk's text, in a chunk of their own.
          let before: ChatChunk["choices"] | null = null;
          for (const choice of chunk.choices) {
            const text = choice.delta.content;
            if (typeof text === "string" && text) {
              generated += text;
              if (scanner) {
                const held = tools?.endAll(choice.index);
                if (held?.length)
                  (before ??= []).push({ index: choice.index, delta: { tool_calls: held }, finish_reason: null });
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
            ? [...renderer.chunk({ ...chunk, choices: before, usage: null }), ...renderer.chunk(chunk)]
            : renderer.chunk(chunk);
          const wait = writeFrames(sse, frames);
          if (wait) await wait;
        }
        // A stream that ended without a finish_reason still gets what the scanner held back.
        for (const index of scanner && lastChunk ? new Set([...scanning, ...(tools?.choices() ?? [])]) : []) {
          const tail = scanning.has(index) ? scanner!.end(index) : "";
          const held = tools?.endAll(index) ?? [];
          sent += tail;
          if (tail || held.length) {
            await writeFrames(
              sse,
              renderer.chunk({
                ...lastChunk!,
                choices: [
                  {
                    index,
                    delta: { ...(tail ? { content: tail } : {}), ...(held.length ? { tool_calls: held } : {}) },
                    finish_reason: null,
                  },
                ],
                usage: null,
              }),
            );
          }
        }
        usage = stream.usage() ?? estimateUsage(req, generated);
        settleOutcome = "ok";
      } catch (err) {
        usage = stream.usage() ?? estimateUsage(req, generated);
        throw err;
      }
      // The text as the client received it (redacted), never the raw upstream text; set before settle (see settleOnce).
      if (key.logBodies)
        entry.responseBody = bodyForLog(logMasker().response(sent), sent, undefined, deps.logBodyLimit);
      const settlement = await settleOnce();
      await writeFrames(sse, renderer.finish(usage, settlementExtra(settlement)));
      sse.end();
    } catch (err) {
      const stopped = abort.signal.reason === SHUTTING_DOWN;
      const aborted = abort.signal.aborted && !stopped;
      // A request that failed upstream is logged against the target tried last (error rates per model/provider).
      const lastTried = entry.attempts[entry.attempts.length - 1]?.target;
      if (entry.modelServed === null && lastTried) {
        entry.modelServed = lastTried;
        entry.provider = lastTried.slice(0, lastTried.indexOf("/"));
      }
      const e = stopped
        ? new GatewayError(
            503,
            "api_error",
            "server_shutting_down",
            "Tollgate is restarting and cut this request off at its shutdown deadline; retry it.",
            "gateway",
            { "retry-after": "1" },
          )
        : toGatewayError(err, entry.provider ?? route?.provider ?? "unknown", aborted);
      entry.outcome = aborted ? "client_aborted" : "error";
      entry.status = aborted ? 499 : e.status;
      entry.errorCode = e.code;
      entry.errorSource = e.source;
      if (usage === undefined && aborted && req) usage = estimateUsage(req, generated);
      if (!(err instanceof GatewayError) && !(err instanceof UpstreamError) && !aborted)
        x.log.error({ err, reqId: x.id }, "gateway request failed");
      settleOutcome = aborted ? "client_aborted" : e.source === "upstream" ? "upstream_error" : "gateway_error";
      await settleOnce().catch(() => undefined);
      if (sse?.started) {
        if (!aborted) await writeFrames(sse, inbound.streamRenderer(entry.modelServed ?? "", x.id).error(e, x.id));
        sse.end();
      } else if (!aborted) {
        x.header("x-tollgate-error-source", e.source);
        Object.assign(x.headers, e.headers);
        x.sendJson(e.status, inbound.errorBody(e, x.id));
      }
    } finally {
      x.res.off("close", onClose);
      inFlight.delete(abort);
      entry.usage = usage ?? null;
      entry.latencyMs = Math.round(performance.now() - started);
      logRequestBody();
      deps.log(entry);
    }
    return entry.usage;

    async function settleOnce(): Promise<Settlement | undefined> {
      if (!reserved) return undefined;
      reserved = false;
      // Billing writes a charged request's log row with its charge: the entry as complete as it is now.
      entry.usage = usage ?? null;
      entry.latencyMs = Math.round(performance.now() - started);
      const s = await deps.hooks.settle?.(ctx, reservation, { route, usage, outcome: settleOutcome, log: entry });
      if (s) entry.costMicroUsd = s.costMicroUsd;
      return s;
    }
  };
}

function countTried(attempts: readonly Attempt[]): number {
  let n = 0;
  for (const a of attempts) if (a.outcome !== "skipped_circuit_open") n++;
  return n;
}

function estimateUsage(req: ChatRequest, generated: string): Usage {
  return {
    inputTokens: estimateInputTokens(req),
    cachedInputTokens: 0,
    outputTokens: estimateTextTokens(generated),
    estimated: true,
  };
}

function scanWhole(res: ChatResponse, scanner: OutputScanner) {
  for (const choice of res.choices) {
    const text = contentText(choice.message.content);
    if (text) choice.message.content = scanner.push(text, choice.index) + scanner.end(choice.index);
    const calls = choice.message.tool_calls;
    if (!calls?.length || !scanner.pushArgs || !scanner.endArgs) continue;
    choice.message.tool_calls = calls.map((call, j) => {
      const args = call.function?.arguments;
      if (typeof args !== "string" || !args) return call;
      const scanned = scanner.pushArgs!(args, choice.index, j) + scanner.endArgs!(choice.index, j);
      return scanned === args ? call : { ...call, function: { ...call.function, arguments: scanned } };
    });
  }
}

/**
 * Streamed tool-call argument fragments through the output scanner, per choice
 * and tool-call index. A call's held-back arguments are released when the
 * next call of its choice starts (before it, in the same chunk), when text
 * follows, or at the finish, so every call's fragments stay in order and
 * never interleave with another block.
 */
class StreamToolArgs {
  /** Per choice, the tool call whose arguments may still be held back. */
  private readonly open = new Map<number, number>();
  constructor(private readonly scanner: Required<OutputScanner>) {}

  push(choice: number, deltas: ToolCallDelta[]): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    for (const d of deltas) {
      if (this.open.get(choice) !== d.index) {
        out.push(...this.endAll(choice));
        this.open.set(choice, d.index);
      }
      const args = d.function?.arguments;
      out.push(
        typeof args === "string" && args
          ? { ...d, function: { ...d.function, arguments: this.scanner.pushArgs(args, choice, d.index) } }
          : d,
      );
    }
    return out;
  }

  /** Releases the held-back arguments of the choice's open call, as a delta. */
  endAll(choice: number): ToolCallDelta[] {
    const index = this.open.get(choice);
    if (index === undefined) return [];
    this.open.delete(choice);
    const tail = this.scanner.endArgs(choice, index);
    return tail ? [{ index, function: { arguments: tail } }] : [];
  }

  choices(): number[] {
    return [...this.open.keys()];
  }
}

/** One socket write per call; awaits only under backpressure. */
function writeFrames(
  sse: SseWriter,
  frames: Array<{ event?: string; data: unknown } | { raw: string }>,
): Promise<void> | undefined {
  return sse.frames(frames);
}

function settlementExtra(s: Settlement | undefined): Record<string, unknown> {
  if (!s) return {};
  return {
    cost_usd: formatUsd(s.costMicroUsd),
    ...(s.balanceMicroUsd !== undefined ? { balance_usd: formatUsd(s.balanceMicroUsd) } : {}),
  };
}

function toGatewayError(err: unknown, provider: string, aborted: boolean): GatewayError {
  if (err instanceof GatewayError) return err;
  if (aborted) return new GatewayError(499, "api_error", "client_closed_request", "The client closed the request.");
  if (err instanceof UpstreamError) return fromUpstream(err, provider);
  return new GatewayError(
    500,
    "api_error",
    "internal_error",
    "Tollgate failed to handle this request; it was logged with the request id.",
  );
}
