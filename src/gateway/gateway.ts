/**
 * Assembles the gateway from its parts: adapters, dispatchers (custom
 * providers always go through the SSRF-guarded one), circuit breakers, the
 * executor, the runtime every call shares and the front (front.ts, where a
 * request's path starts). Everything the gateway keeps per process is either
 * a cache with invalidation or a per-replica observation (breakers); shared
 * state goes behind interfaces (rate-limit store, key verifier bus) that
 * Redis backs when replicas run.
 */
import { Agent } from "undici";
import type { Config } from "../config.js";
import { proxyTrust } from "../platform/http.js";
import type { CallAbort } from "./abort.js";
import { SHUTTING_DOWN } from "./call.js";
import type { ProviderCredential, ProviderEntry } from "./catalog.js";
import type { GatewayError } from "./errors.js";
import type { ExchangeLog } from "./exchange.js";
import type { CacheRuntime } from "./endpoints/cached.js";
import { mediaRoutes } from "./endpoints/media-routes.js";
import { createGatewayFront, type FrontDeps, type GatewayFront } from "./front.js";
import type { GatewayHooks } from "./hooks.js";
import type { InboundFormat } from "./inbound/format.js";
import { openaiInbound } from "./inbound/openai.js";
import type { Pricing } from "./metering/pricing.js";
import { createModelList } from "./model-list.js";
import { createGuardedDispatcher } from "./net/ssrf.js";
import { createAdapters, type Timeouts, UpstreamError } from "./providers/index.js";
import { createMemoryRateLimitStore, type RateLimitStore } from "./ratelimit/ratelimit.js";
import type { Endpoint, RequestLogEntry } from "./request-log.js";
import { createCircuitBreakers } from "./routing/circuit-breaker.js";
import { createExecutor, upstreamOf } from "./routing/executor.js";
import { activeTracer } from "../platform/tracing.js";
import { createLatencyTracker } from "./routing/latency.js";
import { traceStep } from "./trace.js";
import type { RoutingExtras, VirtualModel } from "./routing/router.js";
import { responsesRoutes } from "./responses/endpoint.js";
import type { ResponseStore } from "./responses/store.js";

/** A connection test's answer (per credential too, when the provider has several). */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  model: string | null;
  error: { kind: string; status: number | null; message: string } | null;
  credentials?: Array<{ id: string; ok: boolean; latencyMs: number; error: ProbeResult["error"] }>;
}

export interface GatewayDeps {
  config: Config;
  verify: FrontDeps["verify"];
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  /** The response cache (projects that turn it on use it). */
  cache?: CacheRuntime;
  /** The organization's virtual models by name (none without it). */
  virtualModelsFor?(orgId: string): Promise<ReadonlyMap<string, VirtualModel>>;
  log(entry: RequestLogEntry): void;
  /** The prices /v1/models shows: the same pricing metering bills with. */
  pricing: Pricing;
  hooks?: GatewayHooks;
  rateLimits?: RateLimitStore;
  inboundAnthropic?: InboundFormat;
  checkBody?(value: unknown): void;
  timeouts?: Partial<Timeouts>;
  heartbeatMs?: number;
  /** Aborted at the shutdown deadline: calls still running end with a 503 `server_shutting_down` (an error event for streams). */
  shutdown?: AbortSignal;
  /** Error and warning lines. */
  logger: ExchangeLog;
  /** Where the Responses API keeps stored responses (without it, /v1/responses is not offered). */
  responses?: ResponseStore;
  /** A request refused without a valid API key (no project, so no log record): for metrics. */
  refusedWithoutKey?(endpoint: Endpoint | "other", error: GatewayError): void;
}

const LOG_BODY_LIMIT = 64 * 1024;
/** A token count answers in well under this; longer is a stuck upstream. */
const COUNT_TOKENS_TOTAL_MS = 60_000;
/** A connection test or a model list answers within this, or counts as failed. */
const PROBE_MS = 15_000;
const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, firstByteMs: 60_000, idleMs: 60_000, totalMs: 300_000 };

export function createGateway(deps: GatewayDeps) {
  const adapters = createAdapters();
  const breakers = createCircuitBreakers();
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  // Instance providers are the operator's own configuration (they may be on localhost);
  // organizations' custom providers are user input and always pass the SSRF guard.
  const instanceAgent = new Agent({
    connect: { timeout: timeouts.connectMs },
    keepAliveTimeout: 30_000,
    connections: 256,
  });
  const guardedAgent = createGuardedDispatcher(deps.config.allowedProviderHosts, {
    connectTimeoutMs: timeouts.connectMs,
  });
  const dispatcherFor = (t: { provider: { custom: boolean } }) => (t.provider.custom ? guardedAgent : instanceAgent);
  const rateLimits = deps.rateLimits ?? createMemoryRateLimitStore();
  const latency = createLatencyTracker();
  const execute = createExecutor({
    adapters,
    breakers,
    dispatcherFor,
    timeouts,
    retriesPerTarget: 2,
    baseBackoffMs: 200,
    credentialLimits: rateLimits,
    latency,
  });
  // One extras object per virtual-model map (the directory caches the map): no allocation per request.
  const noVirtuals: RoutingExtras = { latency };
  const extrasOf = new WeakMap<ReadonlyMap<string, VirtualModel>, RoutingExtras>();
  const routingExtras = async (orgId: string): Promise<RoutingExtras> => {
    if (!deps.virtualModelsFor) return noVirtuals;
    const virtuals = await deps.virtualModelsFor(orgId);
    let extras = extrasOf.get(virtuals);
    if (!extras) {
      extras = { virtuals, latency };
      extrasOf.set(virtuals, extras);
    }
    return extras;
  };

  // What every call shares. The shutdown deadline aborts the calls still running (one listener for all).
  const inFlight = new Set<CallAbort>();
  const stopped = { value: deps.shutdown?.aborted === true };
  deps.shutdown?.addEventListener(
    "abort",
    () => {
      stopped.value = true;
      for (const a of inFlight) a.abort(SHUTTING_DOWN);
    },
    { once: true },
  );
  // With tracing on, the policy's input scan gets a span of its own (trace.ts); off, the hooks as they are.
  const hooks = deps.hooks ?? {};
  const scanInput = hooks.scanInput;
  const traced: GatewayHooks =
    activeTracer() && scanInput
      ? { ...hooks, scanInput: (ctx, req) => traceStep("tollgate.policy.scan", async () => scanInput(ctx, req)) }
      : hooks;
  const runtime: FrontDeps["runtime"] = {
    hooks: traced,
    log: deps.log,
    logBodyLimit: LOG_BODY_LIMIT,
    inFlight,
    stopped,
    providersFor: deps.providersFor,
    routingExtras,
    cache: deps.cache,
    execute,
    heartbeatMs: deps.heartbeatMs ?? 10_000,
    offers: (format, capability) => {
      const adapter = adapters[format as keyof typeof adapters];
      return adapter !== undefined && adapter[capability] !== undefined;
    },
  };

  const models = createModelList(deps.pricing);
  const front = createGatewayFront({
    verify: deps.verify,
    rateLimits,
    testKeyRpm: 60,
    bodyLimit: 16 * 1024 * 1024,
    checkBody: deps.checkBody,
    inbound: { openai: openaiInbound, anthropic: deps.inboundAnthropic },
    runtime,
    models: async (caller) =>
      models.list(await deps.providersFor(caller.orgId), caller, (await routingExtras(caller.orgId)).virtuals),
    model: async (caller, id) =>
      models.find(await deps.providersFor(caller.orgId), caller, id, (await routingExtras(caller.orgId)).virtuals),
    refusedWithoutKey: deps.refusedWithoutKey,
    countTokens: {
      providersFor: deps.providersFor,
      routingExtras,
      hooks: runtime.hooks,
      inFlight,
      // The first target only, one attempt: a count is cheap to repeat, and the client decides to.
      upstreamCount(target) {
        const adapter = adapters[target.provider.format];
        if (!adapter.countTokens) return null;
        const upstream = upstreamOf(target);
        return (req, native, signal) =>
          adapter.countTokens!(
            req,
            upstream,
            {
              signal,
              dispatcher: dispatcherFor(target),
              timeouts: { ...timeouts, totalMs: Math.min(timeouts.totalMs, COUNT_TOKENS_TOTAL_MS) },
            },
            native,
          );
      },
    },
    routes: [...(deps.responses ? responsesRoutes(deps.responses, runtime) : []), ...mediaRoutes(runtime)],
    log: deps.logger,
    trustProxy: proxyTrust(deps.config.trustProxy),
  });

  const probeOptions = (entry: ProviderEntry) => ({
    signal: AbortSignal.timeout(PROBE_MS),
    dispatcher: dispatcherFor({ provider: entry }),
    timeouts: { ...timeouts, firstByteMs: PROBE_MS, totalMs: PROBE_MS },
  });

  /** One tiny request to `model` with the provider's key, or with one of its credentials. */
  async function probeOne(entry: ProviderEntry, model: string, credential?: ProviderCredential) {
    const started = performance.now();
    try {
      await adapters[entry.format].chat(
        { model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
        upstreamOf({ provider: entry, model, info: null, name: `${entry.slug}/${model}` }, credential),
        probeOptions(entry),
      );
      return { ok: true, latencyMs: Math.round(performance.now() - started), error: null };
    } catch (err) {
      const e = err instanceof UpstreamError ? err : new UpstreamError("protocol", (err as Error).message);
      return {
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        error: { kind: e.kind as string, status: e.status ?? null, message: e.message },
      };
    }
  }

  return {
    /** The front the HTTP server hands gateway requests to, ahead of Fastify (see front.ts). */
    front: front as GatewayFront,

    /**
     * "Test connection" for a custom provider: one tiny, non-streamed request (one per credential when it
     * has several; the answer is ok when every one is).
     */
    async probe(entry: ProviderEntry, model: string | null): Promise<ProbeResult> {
      if (!model)
        return {
          ok: false,
          latencyMs: 0,
          model: null,
          error: { kind: "no_model", status: null, message: "Add a model to the provider first." },
        };
      if (!entry.credentials) return { ...(await probeOne(entry, model)), model };
      const results = [];
      for (const c of entry.credentials) results.push({ id: c.id, ...(await probeOne(entry, model, c)) });
      const failed = results.find((r) => !r.ok);
      return {
        ok: !failed,
        latencyMs: Math.max(...results.map((r) => r.latencyMs)),
        model,
        error: failed?.error ? { ...failed.error, message: `Credential ${failed.id}: ${failed.error.message}` } : null,
        credentials: results,
      };
    },

    /** The model ids a custom provider's upstream lists (its format's list endpoint), through its dispatcher. */
    async listModels(entry: ProviderEntry): Promise<string[]> {
      const adapter = adapters[entry.format];
      if (!adapter.listModels) throw new UpstreamError("protocol", `The ${entry.format} format has no model list`);
      const target = { provider: entry, model: "", info: null, name: entry.slug };
      return adapter.listModels(upstreamOf(target, entry.credentials?.[0]), probeOptions(entry));
    },

    breakers,

    async close() {
      await Promise.all([instanceAgent.close(), guardedAgent.close()]);
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
