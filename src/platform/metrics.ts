/**
 * Prometheus metrics (GET /metrics). One registry per app (never prom-client's
 * global one), so several apps in one process — tests — do not collide.
 *
 * Where the numbers come from, without touching the request path more than a
 * counter increment:
 *  - HTTP requests: an onResponse hook (route template, not the raw URL, so
 *    ids never become label values);
 *  - gateway requests: the request-log entry every gateway request produces
 *    (status, outcome, provider, served model, tokens, cost, latency, time to
 *    first token, attempts); upstream latency is each attempt's time to
 *    response/first byte, gateway overhead is what remains of the request's
 *    time (to the first byte, for streams) once the upstream attempts are
 *    subtracted — millisecond resolution, as the log records them. These
 *    series are resolved once per label combination (metric-series.ts), so a
 *    request costs a few additions, not prom-client's label hashing;
 *  - queues, caches, pools, Redis: read when scraped (collect callbacks).
 * Label values are bounded and never tenant-defined: /metrics is shared by
 * every organization (and public unless TOLLGATE_METRICS_TOKEN is set), so a
 * custom provider's slug or model ids must not show there, nor grow the series
 * count. Providers are the built-in names or `custom`; models are a built-in
 * provider's known ids, `<provider>/other` for any other name a client sent
 * to a built-in, and `custom` for every model of a custom provider.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { type CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from "./metric-series.js";

export interface MetricSources {
  logQueue?(): { queued: number; written: number; deadLettered: number; failedFlushes: number };
  keyCache?(): { hits: number; misses: number; malformed: number; entries: number };
  dbPool?(): { total: number; idle: number; waiting: number; max: number } | null;
  redisUp?(): boolean | null;
  rateLimitMode?(): "global" | "local" | "closed" | null;
  invalidationBusUp?(): boolean | null;
  draining?(): boolean;
}

/** What the metrics read of one finished gateway call (the gateway's request-log record has these fields). */
export interface GatewayObservation {
  endpoint: string;
  provider: string | null;
  modelServed: string | null;
  status: number;
  outcome: string;
  stream: boolean;
  latencyMs: number;
  ttftMs: number | null;
  attempts: ReadonlyArray<{ target: string; outcome: string; ms: number }>;
  usage: { inputTokens: number; cachedInputTokens: number; outputTokens: number } | null;
  costMicroUsd: bigint | null;
  /** The response cache's answer (null: the project does not cache, or the client sent no-store). */
  cache?: "hit" | "miss" | null;
}

/** The built-in providers as the gateway routes them: their slugs and known model ids bound the labels. */
export type BuiltInProviders = ReadonlyMap<string, { models: ReadonlyMap<string, unknown> }>;

export interface Metrics {
  registry: Registry;
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  observeGateway(entry: GatewayObservation): void;
  /** A rate-limit decision answered without Redis. */
  rateLimitFallback(): void;
  /** A gateway request refused without a valid API key (it has no project, so no request-log row). */
  observeKeylessRefusal(endpoint: string, status: number, code: string): void;
  render(): Promise<{ contentType: string; body: string }>;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export function createMetrics(sources: MetricSources = {}, builtIns: BuiltInProviders = new Map()): Metrics {
  const registry = new Registry();
  const providerLabel = (slug: string) => (builtIns.has(slug) ? slug : "custom");
  /** `name` is "provider/model" (the routed target). */
  const modelLabel = (name: string) => {
    const slash = name.indexOf("/");
    const slug = slash > 0 ? name.slice(0, slash) : name;
    const known = builtIns.get(slug);
    if (!known) return "custom";
    return known.models.has(name.slice(slash + 1)) ? name : `${slug}/other`;
  };
  collectDefaultMetrics({ register: registry });
  const r = [registry];

  const httpRequests = new Counter({
    name: "tollgate_http_requests_total",
    help: "HTTP requests by route template, method and status.",
    labelNames: ["method", "route", "status"],
    registers: r,
  });
  const httpDuration = new Histogram({
    name: "tollgate_http_request_duration_seconds",
    help: "HTTP request duration by route template.",
    labelNames: ["method", "route"],
    buckets: LATENCY_BUCKETS,
    registers: r,
  });

  // Per gateway request (the hot path): series resolved once per label combination, then plain additions.
  const gwRequests = new FastCounter(
    "tollgate_gateway_requests_total",
    "Gateway requests by endpoint, status, outcome, provider and served model.",
    ["endpoint", "status", "outcome", "provider", "model"],
    registry,
  );
  const gwDuration = new FastHistogram(
    "tollgate_gateway_request_duration_seconds",
    "Gateway request duration (whole request, stream included).",
    ["endpoint", "provider", "stream"],
    LATENCY_BUCKETS,
    registry,
  );
  const gwTtft = new FastHistogram(
    "tollgate_gateway_time_to_first_token_seconds",
    "Time to first token (first byte of the answer).",
    ["provider", "model"],
    LATENCY_BUCKETS,
    registry,
  );
  const gwOverhead = new FastHistogram(
    "tollgate_gateway_overhead_seconds",
    "Time the gateway itself added: request time (to first byte for streams) minus upstream attempts. Millisecond resolution.",
    ["endpoint", "stream"],
    OVERHEAD_BUCKETS,
    registry,
  );
  const cacheLookups = new FastCounter(
    "tollgate_response_cache_requests_total",
    "Gateway requests the response cache was asked about, by endpoint and result (hit: answered from the cache; miss: sent to a provider).",
    ["endpoint", "result"],
    registry,
  );
  const upstream = new FastHistogram(
    "tollgate_upstream_latency_seconds",
    "Upstream attempts: time to response (non-streaming) or first chunk (streaming), by provider and result.",
    ["provider", "outcome"],
    LATENCY_BUCKETS,
    registry,
  );
  const attempts = new FastCounter(
    "tollgate_upstream_attempts_total",
    "Upstream attempts by provider and outcome (ok, error, skipped_circuit_open, skipped_rate_limited).",
    ["provider", "outcome"],
    registry,
  );
  const tokens = new FastCounter(
    "tollgate_gateway_tokens_total",
    "Tokens by provider, model and kind (input, cached_input, output).",
    ["provider", "model", "kind"],
    registry,
  );
  const cost = new FastCounter(
    "tollgate_gateway_cost_micro_usd_total",
    "Cost charged, in micro-USD, by provider and model.",
    ["provider", "model"],
    registry,
  );

  /** Every series one kind of request touches, looked up by one key. */
  interface GatewaySeries {
    requests: CounterSeries;
    duration: HistogramSeries;
    ttft: HistogramSeries;
    overhead: HistogramSeries;
    input: CounterSeries;
    cached: CounterSeries;
    output: CounterSeries;
    cost: CounterSeries;
  }
  const gwSeries = new Map<string, GatewaySeries>();
  const attemptSeries = new Map<string, { count: CounterSeries; latency: HistogramSeries }>();
  function gatewaySeries(
    endpoint: string,
    status: string,
    outcome: string,
    provider: string,
    model: string,
    stream: string,
  ): GatewaySeries {
    const key = `${endpoint}\u0000${status}\u0000${outcome}\u0000${provider}\u0000${model}\u0000${stream}`;
    let s = gwSeries.get(key);
    if (!s) {
      s = {
        requests: gwRequests.series([endpoint, status, outcome, provider, model]),
        duration: gwDuration.series([endpoint, provider, stream]),
        ttft: gwTtft.series([provider, model]),
        overhead: gwOverhead.series([endpoint, stream]),
        input: tokens.series([provider, model, "input"]),
        cached: tokens.series([provider, model, "cached_input"]),
        output: tokens.series([provider, model, "output"]),
        cost: cost.series([provider, model]),
      };
      gwSeries.set(key, s);
    }
    return s;
  }
  function attemptOf(provider: string, outcome: string) {
    const key = `${provider}\u0000${outcome}`;
    let s = attemptSeries.get(key);
    if (!s) {
      s = { count: attempts.series([provider, outcome]), latency: upstream.series([provider, outcome]) };
      attemptSeries.set(key, s);
    }
    return s;
  }
  const keyless = new Counter({
    name: "tollgate_gateway_keyless_refusals_total",
    help: "Gateway requests refused without a valid API key (missing, unknown, revoked or expired), by endpoint, status and error code. They have no project and no request-log row.",
    labelNames: ["endpoint", "status", "code"],
    registers: r,
  });
  const rlFallback = new Counter({
    name: "tollgate_ratelimit_redis_fallback_total",
    help: "Rate-limit decisions answered without Redis (local counters or refused).",
    registers: r,
  });

  new Gauge({
    name: "tollgate_request_log_queue_depth",
    help: "Request logs waiting to be written.",
    registers: r,
    collect() {
      const s = sources.logQueue?.();
      if (s) this.set(s.queued);
    },
  });
  new Gauge({
    name: "tollgate_request_log_rows",
    help: "Request-log rows by fate since start: written, dead_lettered (saved to the dead-letter file), failed_flushes.",
    labelNames: ["fate"],
    registers: r,
    collect() {
      const s = sources.logQueue?.();
      if (!s) return;
      this.set({ fate: "written" }, s.written);
      this.set({ fate: "dead_lettered" }, s.deadLettered);
      this.set({ fate: "failed_flushes" }, s.failedFlushes);
    },
  });
  new Gauge({
    name: "tollgate_key_cache_lookups",
    help: "Gateway API-key checks since start by result: hit (no database read), miss (database lookup), malformed (refused before any lookup).",
    labelNames: ["result"],
    registers: r,
    collect() {
      const s = sources.keyCache?.();
      if (!s) return;
      this.set({ result: "hit" }, s.hits);
      this.set({ result: "miss" }, s.misses);
      this.set({ result: "malformed" }, s.malformed);
    },
  });
  new Gauge({
    name: "tollgate_key_cache_entries",
    help: "Verified keys held in this replica's cache.",
    registers: r,
    collect() {
      const s = sources.keyCache?.();
      if (s) this.set(s.entries);
    },
  });
  new Gauge({
    name: "tollgate_db_pool_connections",
    help: "PostgreSQL pool: total, idle and max connections, and queries waiting for one (absent on embedded PGlite).",
    labelNames: ["state"],
    registers: r,
    collect() {
      const s = sources.dbPool?.();
      if (!s) return;
      this.set({ state: "total" }, s.total);
      this.set({ state: "idle" }, s.idle);
      this.set({ state: "waiting" }, s.waiting);
      this.set({ state: "max" }, s.max);
    },
  });
  new Gauge({
    name: "tollgate_redis_up",
    help: "1 while the Redis command connection is up (absent without REDIS_URL).",
    registers: r,
    collect() {
      const up = sources.redisUp?.();
      if (up !== null && up !== undefined) this.set(up ? 1 : 0);
    },
  });
  new Gauge({
    name: "tollgate_invalidation_bus_up",
    help: "1 while cache invalidations reach this replica through Redis (its own heartbeats come back); 0 = caches on the short fallback TTL.",
    registers: r,
    collect() {
      const up = sources.invalidationBusUp?.();
      if (up !== null && up !== undefined) this.set(up ? 1 : 0);
    },
  });
  new Gauge({
    name: "tollgate_ratelimit_mode",
    help: "Where rate limits are counted: global (Redis), local (this replica only; Redis unreachable), closed (refusing; Redis unreachable).",
    labelNames: ["mode"],
    registers: r,
    collect() {
      const m = sources.rateLimitMode?.() ?? "local";
      for (const x of ["global", "local", "closed"]) this.set({ mode: x }, x === m ? 1 : 0);
    },
  });
  new Gauge({
    name: "tollgate_draining",
    help: "1 while the process is shutting down (readiness fails, in-flight requests finish).",
    registers: r,
    collect() {
      this.set(sources.draining?.() ? 1 : 0);
    },
  });

  return {
    registry,
    observeHttp(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    observeGateway(e) {
      const provider = e.provider === null ? "none" : providerLabel(e.provider);
      const model = e.modelServed === null ? "none" : modelLabel(e.modelServed);
      const stream = e.stream ? "true" : "false";
      const s = gatewaySeries(e.endpoint, String(e.status), e.outcome, provider, model, stream);
      s.requests.value++;
      s.duration.observe(e.latencyMs / 1000);
      if (e.ttftMs !== null) s.ttft.observe(e.ttftMs / 1000);
      let upstreamMs = 0;
      for (const a of e.attempts) {
        const as = attemptOf(
          providerLabel(a.target.includes("/") ? a.target.slice(0, a.target.indexOf("/")) : a.target),
          a.outcome,
        );
        as.count.value++;
        if (!a.outcome.startsWith("skipped_")) as.latency.observe(a.ms / 1000);
        upstreamMs += a.ms;
      }
      // Overhead only where it is well defined: a served answer that went upstream.
      if (e.outcome === "ok" && e.attempts.length > 0) {
        const until = e.stream ? (e.ttftMs ?? e.latencyMs) : e.latencyMs;
        s.overhead.observe(Math.max(0, until - upstreamMs) / 1000);
      }
      if (e.usage) {
        s.input.value += e.usage.inputTokens;
        s.cached.value += e.usage.cachedInputTokens;
        s.output.value += e.usage.outputTokens;
      }
      if (e.costMicroUsd !== null && e.costMicroUsd > 0n) s.cost.value += Number(e.costMicroUsd);
      // Only for projects that cache: a series is made on its first request, none for the others.
      if (e.cache) cacheLookups.series([e.endpoint, e.cache]).value++;
    },
    rateLimitFallback: () => rlFallback.inc(),
    observeKeylessRefusal: (endpoint, status, code) => keyless.inc({ endpoint, status: String(status), code }),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
