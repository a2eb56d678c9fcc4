/**
 * The gateway's spans, following OpenTelemetry's GenAI semantic conventions:
 *  - one server span per gateway request, continuing an incoming W3C
 *    `traceparent`, named `<gen_ai.operation.name> <model asked for>`, with
 *    the GenAI attributes (operation, provider, request and response model,
 *    token usage) and Tollgate's (org, project, key id, cost, cache, policy
 *    verdict, status);
 *  - one client span per upstream attempt (until the answer's first byte),
 *    whose context the upstream request carries as its `traceparent`;
 *  - one internal span for the security policy's input scan.
 * No prompt or answer text, and no end user (it may name a person), is ever
 * put in a span. Off (no OTEL endpoint),
 * each helper is one comparison and calls straight through.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { activeTracer } from "../platform/tracing.js";
import type { Endpoint, RequestLogEntry } from "./request-log.js";

/** gen_ai.operation.name of each endpoint. */
const OPERATION: Record<string, string> = {
  chat: "chat",
  messages: "chat",
  responses: "chat",
  embeddings: "embeddings",
};

/** gen_ai.provider.name of the built-in providers (the conventions' names); others: their slug. */
const PROVIDER: Record<string, string> = {
  openai: "openai",
  anthropic: "anthropic",
  gemini: "gcp.gemini",
  vertex: "gcp.vertex_ai",
  bedrock: "aws.bedrock",
  azure: "azure.ai.openai",
  mistral: "mistral_ai",
  groq: "groq",
  deepseek: "deepseek",
  xai: "x_ai",
  perplexity: "perplexity",
};

/** Runs a gateway call inside its server span; the span takes its attributes from the call's log entry. */
export async function traceCall(
  headers: Record<string, string | string[] | undefined>,
  endpoint: Endpoint,
  run: () => Promise<void>,
  entry: () => RequestLogEntry,
): Promise<void> {
  const tracer = activeTracer();
  if (!tracer) return run();
  const operation = OPERATION[endpoint] ?? endpoint;
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer.startSpan(
    operation,
    { kind: SpanKind.SERVER, attributes: { "gen_ai.operation.name": operation, "tollgate.endpoint": endpoint } },
    parent,
  );
  try {
    await context.with(trace.setSpan(parent, span), run);
  } finally {
    const e = entry();
    if (e.modelRequested) span.updateName(`${operation} ${e.modelRequested}`);
    span.setAttributes({
      "tollgate.org.id": e.orgId,
      "tollgate.project.id": e.projectId,
      "tollgate.key.id": e.keyId,
      "http.response.status_code": e.status,
      "tollgate.outcome": e.outcome,
      "tollgate.stream": e.stream,
      "tollgate.attempts": e.attempts.length,
    });
    if (e.modelRequested) span.setAttribute("gen_ai.request.model", e.modelRequested);
    if (e.modelServed) span.setAttribute("gen_ai.response.model", e.modelServed);
    if (e.provider) span.setAttribute("gen_ai.provider.name", PROVIDER[e.provider] ?? e.provider);
    if (e.usage) {
      span.setAttribute("gen_ai.usage.input_tokens", e.usage.inputTokens);
      span.setAttribute("gen_ai.usage.output_tokens", e.usage.outputTokens);
    }
    if (e.costMicroUsd !== null && e.costMicroUsd !== undefined)
      span.setAttribute("tollgate.cost_micro_usd", Number(e.costMicroUsd));
    if (e.cache) span.setAttribute("tollgate.cache", e.cache);
    if (e.tags?.length) span.setAttribute("tollgate.tags", e.tags);
    const verdict = (e.policy as { action?: string } | null | undefined)?.action;
    if (verdict) span.setAttribute("tollgate.policy.verdict", verdict);
    if (e.errorCode) {
      span.setAttribute("error.type", e.errorCode);
      if (e.status >= 500 || e.errorSource === "upstream") span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** Runs one upstream attempt inside its client span (the upstream request carries its traceparent). */
export async function traceAttempt<T>(
  target: { name: string; model: string; provider: string; credential?: string },
  run: () => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return run();
  const span = tracer.startSpan(`chat ${target.model}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "gen_ai.request.model": target.model,
      "gen_ai.provider.name": PROVIDER[target.provider] ?? target.provider,
      "tollgate.target": target.name,
      ...(target.credential ? { "tollgate.credential": target.credential } : {}),
    },
  });
  try {
    return await context.with(trace.setSpan(context.active(), span), run);
  } catch (err) {
    const e = err as { kind?: string; status?: number };
    span.setAttribute("error.type", e.status ? String(e.status) : (e.kind ?? "error"));
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/** Runs `run` in an internal span named `name` (the security policy's scan). */
export async function traceStep<T>(name: string, run: () => Promise<T>): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return run();
  const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL });
  try {
    return await context.with(trace.setSpan(context.active(), span), run);
  } finally {
    span.end();
  }
}

/** Adds the active span's `traceparent` to an upstream request's headers (nothing when tracing is off). */
export function injectTraceContext(headers: Record<string, string>): void {
  if (activeTracer()) propagation.inject(context.active(), headers);
}
