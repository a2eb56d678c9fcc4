/**
 * OpenTelemetry tracing through the official SDK, when the OTEL_* variables
 * turn it on (config-otel.ts): a tracer provider with the W3C trace-context
 * propagator, the configured sampler, and a batching OTLP/HTTP exporter
 * (protobuf or JSON). Off, nothing is registered and `activeTracer()` is null:
 * every tracing call site costs one comparison.
 * Management API requests get a server span each (method and route); the
 * gateway's spans are gateway/trace.ts's.
 */
import { context, propagation, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-node";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { TracingConfig } from "../config-otel.js";

let tracer: Tracer | null = null;

/** The tracer while tracing is on; null when it is off. */
export const activeTracer = (): Tracer | null => tracer;

function samplerOf(s: TracingConfig["sampler"]): Sampler {
  const root =
    s.kind === "always_off"
      ? new AlwaysOffSampler()
      : s.kind === "traceidratio"
        ? new TraceIdRatioBasedSampler(s.ratio)
        : new AlwaysOnSampler();
  return s.parentBased ? new ParentBasedSampler({ root }) : root;
}

/** Starts tracing; `shutdown` flushes the spans not yet exported and turns it off. */
export function startTracing(cfg: TracingConfig, version: string) {
  const exporter =
    cfg.protocol === "http/json"
      ? new JsonExporter({ url: cfg.url, headers: cfg.headers })
      : new ProtoExporter({ url: cfg.url, headers: cfg.headers });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": cfg.serviceName, "service.version": version }),
    sampler: samplerOf(cfg.sampler),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  // The global context manager (AsyncLocalStorage) and the W3C trace-context propagator.
  provider.register();
  tracer = provider.getTracer("tollgate", version);
  return {
    /** Exports what is buffered now (tests, and the shutdown). */
    flush: () => provider.forceFlush(),
    async shutdown() {
      tracer = null;
      await provider.shutdown();
    },
  };
}

const spans = new WeakMap<FastifyRequest, Span>();

/** A server span per management API request (continuing an incoming traceparent), named by method and route. */
export function traceManagementApi(app: FastifyInstance): void {
  app.addHook("onRequest", (req, _reply, done) => {
    const t = tracer;
    if (t) {
      const parent = propagation.extract(context.active(), req.headers);
      const span = t.startSpan(
        `${req.method} ${req.routeOptions.url ?? "unknown route"}`,
        {
          kind: SpanKind.SERVER,
          attributes: { "http.request.method": req.method, "http.route": req.routeOptions.url ?? "" },
        },
        parent,
      );
      spans.set(req, span);
      return context.with(trace.setSpan(parent, span), done);
    }
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    const span = spans.get(req);
    if (span) {
      span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
