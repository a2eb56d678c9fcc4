/**
 * Calls the resolved targets in order with retries, fallbacks and circuit
 * breakers, inside one total deadline: chat and embeddings alike.
 *
 * Invariants:
 *  - Retries and fallbacks happen only before the first byte reaches the
 *    client: for a stream, the executor reads the first chunk itself and only
 *    then hands the stream over; later failures are the caller's to report.
 *  - The deadline bounds everything: each attempt's timeouts are clamped to
 *    what is left, and a Retry-After longer than what is left moves on.
 *  - A client abort stops at once (no retry, no fallback).
 *  - Upstream client errors (400, 404, 413, 422) are not retried anywhere: the
 *    request itself is wrong.
 *  - A provider with several credentials is called with one of them, picked
 *    by weight; a failure that may pass elsewhere moves on to the next
 *    credential at once (another account, not a retry after backoff), then to
 *    the next target. Each credential has its own circuit breaker and, when
 *    set, its own requests-per-minute limit: a credential over it is skipped.
 */
import type { Dispatcher } from "undici";
import type { CallSignal } from "../abort.js";
import type { ChatRequest } from "../types.js";
import {
  type CallOptions,
  type Capability,
  type ChatResult,
  type NativeRequest,
  type ProviderAdapter,
  type ProviderFormat,
  type Timeouts,
  UpstreamError,
  type UpstreamTarget,
} from "../providers/types.js";
import { type ProviderCredential, speaksNatively } from "../catalog.js";
import { MINUTE, type RateLimitStore } from "../ratelimit/ratelimit.js";
import type { Attempt } from "../request-log.js";
import type { CircuitBreakers } from "./circuit-breaker.js";
import { traceAttempt } from "../trace.js";
import type { LatencyTracker } from "./latency.js";
import { weightedOrder } from "./weighted.js";
import type { ResolvedTarget } from "./router.js";

export interface ExecutorDeps {
  adapters: Record<ProviderFormat, ProviderAdapter>;
  breakers: CircuitBreakers;
  dispatcherFor(target: ResolvedTarget): Dispatcher;
  timeouts: Timeouts;
  retriesPerTarget: number;
  baseBackoffMs: number;
  /** Where credentials' requests-per-minute limits are counted (Redis-backed across replicas). */
  credentialLimits: RateLimitStore;
  /** Where answered attempts' latencies go (the least-latency strategy reads them). */
  latency?: LatencyTracker;
}

/** The request as a target sends it: its own model id, and a virtual model target's overrides. */
function forTarget<R extends { model?: string }>(req: R, target: ResolvedTarget): R {
  if (!target.params) return { ...req, model: target.model };
  const out: Record<string, unknown> = { ...req };
  // One output limit: the target's replaces the request's, whichever field either used.
  if ("max_tokens" in target.params || "max_completion_tokens" in target.params) {
    delete out.max_tokens;
    delete out.max_completion_tokens;
  }
  return { ...out, ...target.params, model: target.model } as R;
}

const CLIENT_ERROR_STATUS = new Set([400, 404, 413, 422]);
const sleep = (ms: number, signal: CallSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Reads the first chunk so a stream that dies before its first byte can still be retried.
 * The rest is the same iterator with the first chunk put back in front (a plain
 * iterator, not another generator layer: each layer costs promises per chunk).
 */
async function primeStream(result: ChatResult): Promise<ChatResult> {
  if (result.kind === "stream") return { ...result, stream: await primed(result.stream) };
  if (result.kind === "native_stream") return { ...result, stream: await primed(result.stream) };
  return result;
}

async function primed<T>(stream: AsyncIterable<T>): Promise<AsyncIterableIterator<T>> {
  const it = stream[Symbol.asyncIterator]();
  let first: IteratorResult<T, unknown> | null = await it.next();
  const rest: AsyncIterableIterator<T> = {
    next() {
      if (first) {
        const f = first;
        first = null;
        return Promise.resolve(f as IteratorResult<T>);
      }
      return it.next() as Promise<IteratorResult<T>>;
    },
    return(value?: unknown) {
      first = null;
      return it.return
        ? (it.return(value) as Promise<IteratorResult<T>>)
        : Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return rest;
}

/**
 * Where a resolved target's calls go upstream (the provider's URL, key and headers, its own model id), with
 * one of its credentials when it has several.
 */
export const upstreamOf = (target: ResolvedTarget, credential?: ProviderCredential): UpstreamTarget => ({
  baseUrl: credential?.baseUrl ?? target.provider.baseUrl,
  apiKey: credential ? credential.apiKey : target.provider.apiKey,
  headers: target.provider.headers,
  model: target.model,
  azure: target.provider.azure,
  vertex: target.provider.vertex,
  bedrock: target.provider.bedrock,
});

type CapabilityCall<K extends Capability> = NonNullable<ProviderAdapter[K]>;
type CapabilityRequest<K extends Capability> = Parameters<CapabilityCall<K>>[0];
type CapabilityResult<K extends Capability> = Awaited<ReturnType<CapabilityCall<K>>>;

export function createExecutor(deps: ExecutorDeps) {
  /**
   * Calls `op` on each target in order (with retries) until one answers. `attempts` is filled in as
   * calls are made, so the caller still has them when every target failed.
   */
  async function run<T>(
    targets: ResolvedTarget[],
    signal: CallSignal,
    attempts: Attempt[],
    op: (target: ResolvedTarget, upstream: UpstreamTarget, opts: CallOptions) => Promise<T>,
  ): Promise<{ result: T; target: ResolvedTarget; attempts: Attempt[] }> {
    const started = Date.now();
    const deadline = started + deps.timeouts.totalMs;
    let lastError: unknown = null;
    /** The soonest a credential over its own requests-per-minute limit takes a call again (0: none was). */
    let limitedMs = 0;
    /** The soonest a skipped open circuit lets a call through again. */
    let openMs = Number.POSITIVE_INFINITY;

    for (const target of targets) {
      const creds = target.provider.credentials;
      const order = creds ? weightedOrder(creds) : undefined;
      const legs = order ? order.length : 1;
      for (let l = 0; l < legs; l++) {
        const cred = order?.[l];
        const key = cred ? `${target.name}#${cred.id}` : target.name;
        const credential = cred?.id;
        if (!deps.breakers.tryPass(key)) {
          attempts.push({ target: target.name, credential, outcome: "skipped_circuit_open", ms: 0 });
          openMs = Math.min(openMs, deps.breakers.retryInMs(key) || 1_000);
          continue;
        }
        if (cred?.rpm) {
          const d = await deps.credentialLimits.hit(`credential:${target.provider.slug}:${cred.id}`, 1, {
            limit: cred.rpm,
            windowMs: MINUTE,
          });
          if (!d.allowed) {
            deps.breakers.release(key);
            attempts.push({ target: target.name, credential, outcome: "skipped_rate_limited", ms: 0 });
            limitedMs = limitedMs ? Math.min(limitedMs, d.retryAfterMs) : Math.max(1, d.retryAfterMs);
            continue;
          }
        }
        const upstream = upstreamOf(target, cred);
        for (let i = 0; i <= deps.retriesPerTarget; i++) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          const t0 = Date.now();
          const opts: CallOptions = {
            signal,
            dispatcher: deps.dispatcherFor(target),
            timeouts: {
              connectMs: Math.min(deps.timeouts.connectMs, left),
              firstByteMs: Math.min(deps.timeouts.firstByteMs, left),
              idleMs: deps.timeouts.idleMs,
              totalMs: left,
            },
          };
          try {
            const result = await traceAttempt(
              { name: target.name, model: target.model, provider: target.provider.slug, credential },
              () => op(target, upstream, opts),
            );
            deps.breakers.onSuccess(key);
            const ms = Date.now() - t0;
            deps.latency?.record(target.name, ms);
            attempts.push({ target: target.name, credential, outcome: "ok", ms });
            return { result, target, attempts };
          } catch (err) {
            if (signal.aborted) throw err;
            const e =
              err instanceof UpstreamError
                ? err
                : new UpstreamError("protocol", (err as Error).message ?? "upstream call failed");
            attempts.push({
              target: target.name,
              credential,
              outcome: "error",
              errorKind: e.kind,
              status: e.status,
              ms: Date.now() - t0,
            });
            lastError = e;
            if (e.kind === "http" && e.status !== undefined && CLIENT_ERROR_STATUS.has(e.status)) throw e;
            deps.breakers.onFailure(key, e.retryAfterMs);
            // Another credential is another account: try it now rather than this one again after a pause.
            if (!e.retryable || i === deps.retriesPerTarget || l < legs - 1) break;
            const wait = e.retryAfterMs ?? deps.baseBackoffMs * 2 ** i * (0.5 + Math.random());
            if (Date.now() + wait >= deadline || wait > 10_000) break; // better served by the next target
            await sleep(wait, signal);
            if (!deps.breakers.tryPass(key)) break;
          }
        }
      }
    }
    if (lastError) throw lastError;
    if (limitedMs)
      throw new UpstreamError(
        "http",
        "Every credential of this provider is at its requests-per-minute limit right now.",
        { status: 429, retryable: true, retryAfterMs: limitedMs },
      );
    // Every target was skipped: tell the client when the first circuit closes (e.g. an upstream Retry-After).
    throw new UpstreamError(
      "circuit_open",
      "Every provider for this model is unavailable right now (circuit open after recent failures or rate limits).",
      { retryable: true, retryAfterMs: Math.max(1_000, Number.isFinite(openMs) ? openMs : 1_000) },
    );
  }

  return {
    /** A chat call; a stream is handed over once its first chunk arrived (until then it can be retried). */
    chat(
      targets: ResolvedTarget[],
      req: ChatRequest,
      signal: CallSignal,
      attempts: Attempt[] = [],
      /** The client's own request, sent as is to a target of its format (the others get `req`). */
      native?: NativeRequest,
    ) {
      return run(targets, signal, attempts, async (target, upstream, opts) => {
        const format = target.provider.format;
        return primeStream(
          await deps.adapters[format].chat(
            forTarget(req, target),
            upstream,
            opts,
            // A target with overrides gets the translated request (the overrides are canonical fields).
            native && !target.params && speaksNatively(target.provider, native.api) ? native : undefined,
          ),
        );
      });
    },

    /**
     * A call of a capability other than chat — embeddings, images, transcribe (the upload is sent again on
     * each attempt), speech (the whole audio, once the upstream finished), moderate. Every target's
     * adapter must offer it (the endpoint checked: one-target.ts).
     */
    call<K extends Capability>(
      capability: K,
      targets: ResolvedTarget[],
      req: CapabilityRequest<K>,
      signal: CallSignal,
      attempts: Attempt[] = [],
    ) {
      return run<CapabilityResult<K>>(targets, signal, attempts, (target, upstream, opts) => {
        const adapter = deps.adapters[target.provider.format];
        const method = adapter[capability] as unknown as (
          req: CapabilityRequest<K>,
          target: UpstreamTarget,
          opts: CallOptions,
        ) => Promise<CapabilityResult<K>>;
        return method.call(adapter, forTarget(req, target), upstream, opts);
      });
    },
  };
}

export type Executor = ReturnType<typeof createExecutor>;
