/**
 * One gateway call, from the moment its API key is verified to its log
 * record: built by the front (front.ts), carried by every endpoint (chat,
 * messages, embeddings). It holds
 *  - the caller: the verified key with its project's settings (routing, rate
 *    limits, spend cap, body logging) — one shape from the key check to billing;
 *  - the log record, filled in as the call goes and written once (`finish`);
 *  - the credit reservation, settled exactly once (`reserve` / `settle`);
 *  - the abort (client gone, shutdown deadline) and the answer on error (`fail`).
 * It is also the context the hooks (security, billing) see.
 */
import { formatUsd } from "../platform/money.js";
import { CallAbort } from "./abort.js";
import { clientClosed, fromUpstream, GatewayError, shuttingDown, toGatewayError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import type {
  Budget,
  GatewayHooks,
  GatewayRequestContext,
  LogMasker,
  ReserveInput,
  RouteInfo,
  Settlement,
} from "./hooks.js";
import { bodyForLog, logMaskerFor } from "./log-body.js";
import { UpstreamError } from "./providers/types.js";
import type { Endpoint, RequestLogEntry } from "./request-log.js";
import { parseTags, TAGS_HEADER, takeMetadata } from "./request-tags.js";
import { createSseWriter, type SseWriter } from "./sse.js";
import type { Usage } from "./types.js";

/** A verified API key as the gateway uses it (the keys module's context is one). */
export interface Caller {
  keyId: string;
  orgId: string;
  projectId: string;
  environment: "live" | "test";
  defaultModel: string | null;
  allowedModels: readonly string[];
  /** The key's own allowed models, within the project's (null: the project's alone). */
  keyAllowedModels: readonly string[] | null;
  fallbackModels: readonly string[];
  rateLimit: { rpm: number | null; tpm: number | null };
  keyRateLimit: { rpm: number | null; tpm: number | null };
  monthlySpendCapMicroUsd: bigint | null;
  logBodies: boolean;
  /** The project's response cache. */
  cache: { mode: "off" | "exact"; ttlSeconds: number };
  /** The key's own budget, and the project's budget per end user (null: none). */
  keyBudget: Budget | null;
  endUserBudget: Budget | null;
  /** The key was created by someone who may view billing: answers may carry the organization's balance. */
  revealBalance: boolean;
}

/** What every call shares with the process: hooks, the log sink, the shutdown. */
export interface CallRuntime {
  hooks: GatewayHooks;
  /** Takes the finished call's log record (written off the request path). */
  log(entry: RequestLogEntry): void;
  /** Bytes of a body kept in the log. */
  logBodyLimit: number;
  /** Calls running now: the shutdown deadline aborts them (one listener, not one per call). */
  inFlight: Set<CallAbort>;
  /** Set once the shutdown deadline has passed. */
  stopped: { value: boolean };
}

export type SettleOutcome = "ok" | "upstream_error" | "client_aborted" | "gateway_error";

/** The abort reason of the shutdown deadline. */
export const SHUTTING_DOWN = "tollgate-shutdown";

const MAX_LOGGED_FIELD = 256;

export class GatewayCall implements GatewayRequestContext {
  readonly requestId: string;
  readonly orgId: string;
  readonly projectId: string;
  readonly keyId: string;
  readonly environment: "live" | "test";
  readonly startedAt: Date;
  readonly revealBalance: boolean;
  readonly logBodies: boolean;
  readonly spendCapMicroUsd: bigint | null;
  readonly keyBudget: Budget | null;
  readonly endUserBudget: Budget | null;
  /** The log record, filled in as the call goes. */
  readonly log: RequestLogEntry;
  /** Aborted when the client leaves or at the shutdown deadline: every upstream call of this call listens. */
  readonly abort = new CallAbort();
  /** The route charged at settle: the primary once admitted, the one that answered after the call. */
  route: RouteInfo | null = null;
  /** The usage to charge (reported, or estimated when the provider reported none). */
  usage: Usage | undefined = undefined;
  /** The share of the price this call is billed at, in percent (a response-cache hit); absent: all of it. */
  pricePercent: number | undefined = undefined;
  /** The stream, once the endpoint started one: errors then end it with an error event. */
  sse: SseWriter | null = null;
  streamErrorFrames: ((e: GatewayError) => Parameters<SseWriter["frames"]>[0]) | null = null;

  private reservation: unknown = undefined;
  private reserved = false;
  private requestLogged: boolean;
  private masker: LogMasker | undefined;
  private readonly onClose = () => {
    if (!this.x.res.writableFinished) this.abort.abort();
  };

  constructor(
    readonly x: Exchange,
    readonly caller: Caller,
    readonly endpoint: Endpoint,
    private readonly rt: CallRuntime,
    /** Renders this endpoint's errors (the path's API shape). */
    private readonly errorBody: (e: GatewayError, requestId: string) => unknown,
  ) {
    this.requestId = x.id;
    this.orgId = caller.orgId;
    this.projectId = caller.projectId;
    this.keyId = caller.keyId;
    this.environment = caller.environment;
    this.revealBalance = caller.revealBalance;
    this.logBodies = caller.logBodies;
    this.spendCapMicroUsd = caller.monthlySpendCapMicroUsd;
    this.keyBudget = caller.keyBudget;
    this.endUserBudget = caller.endUserBudget;
    this.requestLogged = !caller.logBodies;
    this.startedAt = new Date(Date.now() - x.elapsedMs());
    this.log = {
      id: x.id,
      orgId: caller.orgId,
      projectId: caller.projectId,
      keyId: caller.keyId,
      createdAt: this.startedAt,
      endpoint,
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
      tags: null,
      metadata: null,
      stream: false,
      requestBody: null,
      responseBody: null,
    };
    x.res.on("close", this.onClose);
    if (rt.stopped.value) this.abort.abort(SHUTTING_DOWN);
    else rt.inFlight.add(this.abort);
  }

  /** The request's end user (`user`, or Anthropic's `metadata.user_id`), once the body was read. */
  get endUser(): string | null {
    return this.log.user;
  }

  get hooks(): GatewayHooks {
    return this.rt.hooks;
  }

  /**
   * The parsed body: what the log shows of the request before any endpoint reads it, with the request's
   * tags and `metadata` (request-tags.ts: refused with a 400 when malformed; `metadata` leaves the body).
   */
  tookBody(body: unknown): void {
    if (body && typeof body === "object") {
      const b = body as { model?: unknown; user?: unknown; stream?: unknown; metadata?: { user_id?: unknown } };
      if (typeof b.model === "string" && b.model) this.log.modelRequested = b.model.slice(0, MAX_LOGGED_FIELD);
      const user = b.user ?? (b.metadata && typeof b.metadata === "object" ? b.metadata.user_id : undefined);
      if (typeof user === "string") this.log.user = user.slice(0, MAX_LOGGED_FIELD);
      this.log.stream = b.stream === true;
    }
    this.log.tags = parseTags(this.x.req.headers[TAGS_HEADER]);
    const taken = takeMetadata(body, this.endpoint);
    this.log.metadata = taken.metadata;
    this.x.body = taken.body;
  }

  /** The masker of what the log keeps (asked once, after the input scan when there is one). */
  logMasker(): LogMasker {
    this.masker ??= logMaskerFor(this.rt.hooks, this);
    return this.masker;
  }

  /**
   * Keeps the request body in the log (projects with `logBodies`), masked with what the input scan found.
   * Called after the scan, and at the latest before settle (billing may write the record with the charge).
   */
  logRequestBody(): void {
    if (this.requestLogged) return;
    this.requestLogged = true;
    const x = this.x;
    if (x.body !== undefined && typeof x.bodyText === "string")
      this.log.requestBody = bodyForLog(this.logMasker().request(x.body), x.body, x.bodyText, this.rt.logBodyLimit);
  }

  /** Keeps the answer as the client received it (projects with `logBodies`); `text`: its JSON text, when held. */
  logResponseBody(answer: unknown, text?: string): void {
    if (this.logBodies)
      this.log.responseBody = bodyForLog(this.logMasker().response(answer), answer, text, this.rt.logBodyLimit);
  }

  /** Every route the call may be served by is admitted and costed: the hold (a refusal throws). */
  async reserve(input: ReserveInput): Promise<void> {
    this.route = input.routes[0] ?? null;
    this.reservation = await this.rt.hooks.reserve?.(this, input);
    this.reserved = true;
  }

  /** Settles the reservation, once; later calls (and calls without a reservation) do nothing. */
  async settle(outcome: SettleOutcome): Promise<Settlement | undefined> {
    if (!this.reserved) return undefined;
    this.reserved = false;
    this.logRequestBody();
    // Billing writes a charged call's record with its charge: the record as complete as it is now.
    this.log.usage = this.usage ?? null;
    this.log.latencyMs = Math.round(this.x.elapsedMs());
    const s = await this.rt.hooks.settle?.(this, this.reservation, {
      route: this.route,
      usage: this.usage,
      outcome,
      log: this.log,
      pricePercent: this.pricePercent,
    });
    if (s) this.log.costMicroUsd = s.costMicroUsd;
    return s;
  }

  /** The charge (and the balance, for keys that may learn it) in the answer's headers. */
  costHeaders(s: Settlement | undefined): void {
    Object.assign(this.x.headers, costFields(s));
  }

  /**
   * Starts the SSE answer (once) with the headers set so far, declaring the cost trailers (`Trailer`) the
   * stream ends with when billing is on — only on HTTP/1.1, where a chunked body can carry them.
   */
  startStream(): SseWriter {
    this.sse ??= createSseWriter(this.x.res);
    if (
      !this.sse.started &&
      this.rt.hooks.settle &&
      this.x.req.httpVersionMajor === 1 &&
      this.x.req.httpVersionMinor >= 1
    )
      this.x.header("trailer", this.revealBalance ? `${COST}, ${BALANCE}` : COST);
    this.sse.start(this.x.headers);
    return this.sse;
  }

  /** Ends the stream, with the charge (and balance) as trailers: every streaming client learns the cost. */
  endStream(s: Settlement | undefined): void {
    this.sse?.end(this.x.headers.trailer ? costFields(s) : undefined);
  }

  /** Milliseconds since the request arrived, for the first byte (set once). */
  markFirstByte(): void {
    if (this.log.ttftMs === null) this.log.ttftMs = Math.round(this.x.elapsedMs());
  }

  /**
   * Ends the call with an error: records it, settles what was reserved, and answers in the endpoint's
   * shape — an error event when a stream has started, nothing when the client left.
   */
  async fail(err: unknown): Promise<void> {
    const stopped = this.abort.reason === SHUTTING_DOWN;
    const aborted = this.abort.aborted && !stopped;
    const log = this.log;
    // A call that failed upstream is logged against the target tried last (error rates per model/provider).
    const lastTried = log.attempts[log.attempts.length - 1]?.target;
    if (log.modelServed === null && lastTried) {
      log.modelServed = lastTried;
      log.provider = lastTried.slice(0, lastTried.indexOf("/"));
    }
    const e = stopped
      ? shuttingDown()
      : err instanceof GatewayError
        ? err
        : aborted
          ? clientClosed()
          : err instanceof UpstreamError
            ? fromUpstream(err, log.provider ?? this.route?.provider ?? "unknown")
            : toGatewayError(err);
    if (e.code === "internal_error") this.x.log.error({ err, reqId: this.requestId }, "gateway request failed");
    log.outcome = aborted ? "client_aborted" : "error";
    log.status = aborted ? 499 : e.status;
    log.errorCode = e.code;
    log.errorSource = e.source;
    const settled = await this.settle(
      aborted ? "client_aborted" : e.source === "upstream" ? "upstream_error" : "gateway_error",
    ).catch(() => undefined);
    if (aborted) return;
    const sse = this.sse;
    if (sse?.started) {
      if (this.streamErrorFrames) await sse.frames(this.streamErrorFrames(e));
      this.endStream(settled);
      return;
    }
    answerError(this.x, e, this.errorBody(e, this.requestId));
  }

  /** Writes the log record, once, whatever happened (a reservation still open is settled first). */
  async finish(): Promise<void> {
    this.x.res.off("close", this.onClose);
    this.rt.inFlight.delete(this.abort);
    if (this.reserved) await this.settle("gateway_error").catch(() => undefined);
    this.log.usage = this.usage ?? null;
    this.log.latencyMs = Math.round(this.x.elapsedMs());
    this.logRequestBody();
    this.rt.log(this.log);
  }
}

const COST = "x-tollgate-cost-usd";
const BALANCE = "x-tollgate-balance-usd";

/** The charge, and the balance for keys that may learn it: answer headers, or a stream's trailers. */
function costFields(s: Settlement | undefined): Record<string, string> {
  if (!s) return {};
  const out: Record<string, string> = { [COST]: formatUsd(s.costMicroUsd) };
  if (s.balanceMicroUsd !== undefined) out[BALANCE] = formatUsd(s.balanceMicroUsd);
  return out;
}

/** Sends an error answer, unless the response is already under way (then the connection is cut). */
export function answerError(x: Exchange, e: GatewayError, body: unknown): void {
  if (x.res.headersSent || x.res.destroyed) {
    if (!x.res.writableEnded) x.res.destroy();
    return;
  }
  x.headers["x-tollgate-error-source"] = e.source;
  Object.assign(x.headers, e.headers);
  x.sendJson(e.status, body);
}
