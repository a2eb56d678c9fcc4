/**
 * Assembles the gateway from its parts: adapters, dispatchers (custom
 * providers always go through the SSRF-guarded one), circuit breakers, the
 * executor, the chat pipeline, rate limits and the routes. Everything the
 * gateway keeps per process is either a cache with invalidation or a
 * per-replica observation (breakers); shared state goes behind interfaces
 * (rate-limit store, key verifier bus) that the scale-out work backs by Redis.
 */
import type { FastifyInstance } from "fastify";
import { Agent } from "undici";
import type { Config } from "../config.js";
import { proxyTrust } from "../platform/http.js";
import type { ProviderEntry } from "./catalog.js";
import { fromUpstream, GatewayError, invalidRequest } from "./errors.js";
import type { Exchange, ExchangeLog } from "./exchange.js";
import type { GatewayHooks, GatewayRequestContext } from "./hooks.js";
import { openaiInbound } from "./inbound/openai.js";
import type { Pricing } from "./metering/pricing.js";
import { createModelList } from "./model-list.js";
import { createGuardedDispatcher } from "./net/ssrf.js";
import { bodyForLog, logMaskerFor } from "./log-body.js";
import { createChatPipeline, type GatewayKey, type InboundFormat, type RequestLogEntry } from "./pipeline.js";
import { createAdapters, type Timeouts, UpstreamError } from "./providers/index.js";
import { createMemoryRateLimitStore, type RateLimitStore } from "./ratelimit/ratelimit.js";
import { createGatewayFront, type GatewayFront, type GatewayRouteDeps, type VerifiedKey } from "./routes.js";
import { createCircuitBreakers } from "./routing/circuit-breaker.js";
import { admitTargets } from "./routing/admit.js";
import { createExecutor } from "./routing/executor.js";
import { resolveTargets, type ResolvedTarget } from "./routing/router.js";
import { embeddingsInputBound } from "./tokens.js";
import { contentText, type EmbeddingsRequest } from "./types.js";

/** What the gateway needs to know about a verified key (the keys module's context satisfies it). */
export interface GatewayKeyContext extends VerifiedKey {
  defaultModel: string | null;
  allowedModels: readonly string[];
  fallbackModels?: readonly string[];
  logBodies: boolean;
  /** Answers may carry the organization's balance (the key's creator may view billing). */
  revealBalance?: boolean;
}

export interface GatewayDeps<K extends GatewayKeyContext> {
  config: Config;
  verify: GatewayRouteDeps<K>["verify"];
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  log(entry: RequestLogEntry): void;
  /** The prices /v1/models shows: the same pricing metering bills with. */
  pricing: Pricing;
  hooks?: GatewayHooks;
  rateLimits?: RateLimitStore;
  inboundAnthropic?: InboundFormat;
  checkBody?(value: unknown): void;
  timeouts?: Partial<Timeouts>;
  heartbeatMs?: number;
  /** Aborted at the shutdown deadline (see pipeline.ts). */
  shutdown?: AbortSignal;
  /** Error and warning lines (the app's logger when absent). */
  logger?: ExchangeLog;
  /** A request refused without a valid API key (no project, so no log row): for metrics. */
  refusedWithoutKey?(endpoint: RequestLogEntry["endpoint"] | "other", error: GatewayError): void;
}

const LOG_BODY_LIMIT = 64 * 1024;
const ENDPOINTS: Record<string, RequestLogEntry["endpoint"]> = {
  "/v1/chat/completions": "chat",
  "/v1/messages": "messages",
  "/v1/embeddings": "embeddings",
};

const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, firstByteMs: 60_000, idleMs: 60_000, totalMs: 300_000 };

export function createGateway<K extends GatewayKeyContext>(deps: GatewayDeps<K>) {
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
  const dispatcherFor = (t: ResolvedTarget) => (t.provider.custom ? guardedAgent : instanceAgent);
  const hooks = deps.hooks ?? {};
  const execute = createExecutor({
    adapters,
    breakers,
    dispatcherFor,
    timeouts,
    retriesPerTarget: 2,
    baseBackoffMs: 200,
  });
  const chat = createChatPipeline({
    providersFor: deps.providersFor,
    execute,
    hooks,
    log: deps.log,
    logBodyLimit: LOG_BODY_LIMIT,
    heartbeatMs: deps.heartbeatMs ?? 10_000,
    shutdown: deps.shutdown,
  });

  // One per verified key context (the verifier caches those): not rebuilt on every request.
  const keys = new WeakMap<K, GatewayKey>();
  const gatewayKey = (k: K): GatewayKey => {
    let g = keys.get(k);
    if (!g) {
      g = {
        keyId: k.keyId,
        orgId: k.orgId,
        projectId: k.projectId,
        environment: k.environment,
        logBodies: k.logBodies,
        revealBalance: k.revealBalance === true,
        routing: {
          defaultModel: k.defaultModel,
          allowedModels: [...k.allowedModels],
          fallbackModels: [...(k.fallbackModels ?? [])],
        },
      };
      keys.set(k, g);
    }
    return g;
  };

  const listModels = createModelList(deps.pricing);
  async function models(k: K) {
    return listModels(await deps.providersFor(k.orgId), gatewayKey(k).routing.allowedModels);
  }

  /** Runs scanInput over text inputs as user messages; returns the input to send (rewritten if the policy redacted it). */
  async function scanEmbeddingsInput(
    ctx: GatewayRequestContext,
    body: EmbeddingsRequest,
  ): Promise<EmbeddingsRequest["input"]> {
    const texts =
      typeof body.input === "string"
        ? [body.input]
        : (body.input as unknown[]).every((x) => typeof x === "string")
          ? (body.input as string[])
          : null;
    // Token-id inputs carry no text a policy can read.
    if (!hooks.scanInput || !texts || texts.length === 0) return body.input;
    const scanned = await hooks.scanInput(ctx, {
      model: body.model ?? "",
      messages: texts.map((content) => ({ role: "user" as const, content })),
    });
    if (!scanned) return body.input;
    const out = scanned.messages.map((m) =>
      contentText((m as { content?: Parameters<typeof contentText>[0] }).content),
    );
    return typeof body.input === "string" ? out[0]! : out;
  }

  async function embeddings(x: Exchange, k: K) {
    const started = performance.now();
    const body = (x.body && typeof x.body === "object" ? x.body : {}) as EmbeddingsRequest;
    const key = gatewayKey(k);
    const entry: RequestLogEntry = {
      id: x.id,
      orgId: k.orgId,
      projectId: k.projectId,
      keyId: k.keyId,
      createdAt: new Date(),
      endpoint: "embeddings",
      modelRequested: typeof body.model === "string" ? body.model : null,
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
      user: typeof body.user === "string" ? body.user : null,
      stream: false,
      requestBody: null,
      responseBody: null,
    };
    const ctx = {
      requestId: x.id,
      orgId: k.orgId,
      projectId: k.projectId,
      keyId: k.keyId,
      environment: k.environment,
      endpoint: "embeddings" as const,
      startedAt: entry.createdAt,
      revealBalance: k.revealBalance === true,
      logBodies: k.logBodies,
    };
    // Masked with what the input scan found, and before settle (which may write the log row).
    const logInput = () => {
      if (k.logBodies && entry.requestBody === null)
        entry.requestBody = bodyForLog(logMaskerFor(hooks, ctx).request(x.body), x.body, x.bodyText, LOG_BODY_LIMIT);
    };
    let reserved = false;
    let reservation: unknown;
    try {
      if (typeof body.input !== "string" && !Array.isArray(body.input))
        throw invalidRequest("invalid_input", "`input` must be a string or an array.", "input");
      // The input policy applies to text sent for embedding as much as to chat (it leaves for the provider too).
      const input = await scanEmbeddingsInput(ctx, body);
      logInput();
      const [target] = resolveTargets(
        body.model,
        { ...key.routing, fallbackModels: [] },
        await deps.providersFor(k.orgId),
      );
      const adapter = adapters[target!.provider.format];
      if (!adapter.embeddings)
        throw invalidRequest(
          "embeddings_not_supported",
          `Provider "${target!.provider.slug}" does not offer embeddings.`,
          "model",
        );
      const { routes } = admitTargets(ctx, [target!], hooks);
      const route = routes[0]!;
      reservation = await hooks.reserve?.(ctx, {
        routes,
        input: embeddingsInputBound(input),
        maxOutputTokens: null,
        choices: 1,
        noOutput: true,
      });
      reserved = true;
      entry.provider = target!.provider.slug;
      entry.modelServed = target!.name;
      const signal = AbortSignal.timeout(timeouts.totalMs);
      const out = await adapter.embeddings(
        { ...body, input, model: target!.model },
        {
          baseUrl: target!.provider.baseUrl,
          apiKey: target!.provider.apiKey,
          headers: target!.provider.headers,
          model: target!.model,
        },
        { signal, dispatcher: dispatcherFor(target!), timeouts },
      );
      entry.usage = out.usage;
      reserved = false;
      // Billing writes the log row with the charge (one transaction): as complete as it is now.
      entry.latencyMs = Math.round(performance.now() - started);
      const s = await hooks.settle?.(ctx, reservation, { route, usage: out.usage, outcome: "ok", log: entry });
      if (s) entry.costMicroUsd = s.costMicroUsd;
      x.header("x-tollgate-provider", target!.provider.slug);
      return { ...out.response, model: target!.name };
    } catch (err) {
      const e =
        err instanceof GatewayError
          ? err
          : err instanceof UpstreamError
            ? fromUpstream(err, entry.provider ?? "unknown")
            : new GatewayError(500, "api_error", "internal_error", "Tollgate failed to handle this request.");
      entry.outcome = "error";
      entry.status = e.status;
      entry.errorCode = e.code;
      entry.errorSource = e.source;
      if (reserved)
        await hooks
          .settle?.(ctx, reservation, {
            route: null,
            usage: undefined,
            outcome: e.source === "upstream" ? "upstream_error" : "gateway_error",
            log: entry,
          })
          .catch(() => undefined);
      throw e;
    } finally {
      entry.latencyMs = Math.round(performance.now() - started);
      logInput();
      deps.log(entry);
    }
  }

  /**
   * A request refused before the pipeline (bad or missing key, rate limit, unreadable body). With a
   * valid key it gets a request-log row in its project (no body unless the body parsed); without one
   * there is no project to show it to: it is only counted (`refusedWithoutKey`), nothing else is kept.
   * The body is masked like any logged body, by whatever policy is at hand (never loaded here).
   */
  function refused(x: Exchange, k: K | null, e: GatewayError) {
    const endpoint = ENDPOINTS[x.path];
    if (!k) return deps.refusedWithoutKey?.(endpoint ?? "other", e);
    if (!endpoint) return;
    const parsed =
      typeof x.bodyText === "string" && x.body && typeof x.body === "object"
        ? (x.body as Record<string, unknown>)
        : null;
    const user = parsed?.user ?? (parsed?.metadata as { user_id?: unknown } | undefined)?.user_id;
    const elapsed = Math.round(x.elapsedMs());
    deps.log({
      id: x.id,
      orgId: k.orgId,
      projectId: k.projectId,
      keyId: k.keyId,
      createdAt: new Date(Date.now() - elapsed),
      endpoint,
      modelRequested: typeof parsed?.model === "string" && parsed.model ? parsed.model.slice(0, 256) : null,
      modelServed: null,
      provider: null,
      status: e.status,
      outcome: "error",
      errorCode: e.code,
      errorSource: e.source,
      usage: null,
      costMicroUsd: null,
      latencyMs: elapsed,
      ttftMs: null,
      attempts: [],
      clientIp: x.ip,
      user: typeof user === "string" ? user.slice(0, 256) : null,
      stream: parsed?.stream === true,
      requestBody:
        k.logBodies && parsed
          ? bodyForLog(
              logMaskerFor(hooks, {
                requestId: x.id,
                orgId: k.orgId,
                projectId: k.projectId,
                keyId: k.keyId,
                environment: k.environment,
                endpoint,
              }).request(parsed),
              parsed,
              x.bodyText,
              LOG_BODY_LIMIT,
            )
          : null,
      responseBody: null,
    });
  }

  return {
    /**
     * Registers the gateway's routes on the app (for inject and the route list) and returns the
     * front the HTTP server hands gateway requests to, ahead of Fastify (see routes.ts).
     */
    register(app: FastifyInstance): GatewayFront {
      const front = createGatewayFront<K>({
        verify: deps.verify,
        rateLimits: deps.rateLimits ?? createMemoryRateLimitStore(),
        testKeyRpm: 60,
        bodyLimit: 16 * 1024 * 1024,
        chat: (x, k, inbound) => chat(x, gatewayKey(k), inbound),
        inbound: { openai: openaiInbound, anthropic: deps.inboundAnthropic },
        embeddings,
        models,
        checkBody: deps.checkBody,
        refused,
        log: deps.logger ?? app.log,
        trustProxy: proxyTrust(deps.config.trustProxy),
      });
      front.register(app);
      return front;
    },

    /** "Test connection" for a custom provider: one tiny, non-streamed request. */
    async probe(entry: ProviderEntry, model: string | null) {
      const started = performance.now();
      if (!model)
        return {
          ok: false,
          latencyMs: 0,
          model: null,
          error: { kind: "no_model", status: null, message: "Add a model to the provider first." },
        };
      try {
        await adapters[entry.format].chat(
          { model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
          { baseUrl: entry.baseUrl, apiKey: entry.apiKey, headers: entry.headers, model },
          {
            signal: AbortSignal.timeout(15_000),
            dispatcher: entry.custom ? guardedAgent : instanceAgent,
            timeouts: { ...timeouts, firstByteMs: 15_000, totalMs: 15_000 },
          },
        );
        return { ok: true, latencyMs: Math.round(performance.now() - started), model, error: null };
      } catch (err) {
        const e = err instanceof UpstreamError ? err : new UpstreamError("protocol", (err as Error).message);
        return {
          ok: false,
          latencyMs: Math.round(performance.now() - started),
          model,
          error: { kind: e.kind, status: e.status ?? null, message: e.message },
        };
      }
    },

    breakers,

    async close() {
      await Promise.all([instanceAgent.close(), guardedAgent.close()]);
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
