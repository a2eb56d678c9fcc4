/**
 * OpenTelemetry tracing as the standard OTEL_* variables configure it. Tracing
 * is off unless an OTLP endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces), and always off with
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Protocols:
 * `http/protobuf` (the specification's default) and `http/json`; gRPC is not
 * offered (the message says which to use). Sampling: OTEL_TRACES_SAMPLER
 * (`always_on`, `always_off`, `traceidratio`, and their `parentbased_` forms;
 * default `parentbased_always_on`) with OTEL_TRACES_SAMPLER_ARG.
 * No imports: the config module reads this file, and it sits below everything.
 */

export interface TracingConfig {
  /** The OTLP/HTTP traces URL. */
  url: string;
  protocol: "http/protobuf" | "http/json";
  /** OTEL_EXPORTER_OTLP_(TRACES_)HEADERS: `k=v,k2=v2`, values URL-decoded. */
  headers: Record<string, string>;
  serviceName: string;
  sampler: { kind: "always_on" | "always_off" | "traceidratio"; parentBased: boolean; ratio: number };
}

const SAMPLERS = ["always_on", "always_off", "traceidratio"] as const;

function parseHeaders(raw: string | undefined): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of (raw ?? "").split(",")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return `"${part.trim()}" is not key=value`;
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return `"${part.trim()}" is not URL-encoded`;
    }
  }
  return out;
}

/** The tracing configuration (null: off), or a message naming the variable that is wrong. */
export function tracingConfig(env: Record<string, string | undefined>): TracingConfig | null | string {
  const v = (name: string) => env[name]?.trim() || undefined;
  if (v("OTEL_SDK_DISABLED") === "true" || v("OTEL_TRACES_EXPORTER") === "none") return null;
  const exporter = v("OTEL_TRACES_EXPORTER") ?? "otlp";
  if (exporter !== "otlp") return `OTEL_TRACES_EXPORTER: only "otlp" (or "none") is offered, not "${exporter}"`;
  const base = v("OTEL_EXPORTER_OTLP_ENDPOINT");
  const url = v("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? (base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (!url) return null;
  if (!/^https?:\/\/[^\s/]+/.test(url)) return "OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL";
  const protocol = v("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? v("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json")
    return `OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not offered; use http/protobuf or http/json`;
  const headers = parseHeaders(v("OTEL_EXPORTER_OTLP_TRACES_HEADERS") ?? v("OTEL_EXPORTER_OTLP_HEADERS"));
  if (typeof headers === "string") return `OTEL_EXPORTER_OTLP_HEADERS: ${headers}`;
  const rawSampler = v("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on";
  const parentBased = rawSampler.startsWith("parentbased_");
  const kind = (parentBased ? rawSampler.slice("parentbased_".length) : rawSampler) as TracingConfig["sampler"]["kind"];
  if (!SAMPLERS.includes(kind))
    return `OTEL_TRACES_SAMPLER: "${rawSampler}" is not offered (always_on, always_off, traceidratio, parentbased_…)`;
  const ratio = Number(v("OTEL_TRACES_SAMPLER_ARG") ?? "1");
  if (!(ratio >= 0 && ratio <= 1)) return "OTEL_TRACES_SAMPLER_ARG: a ratio between 0 and 1";
  return {
    url,
    protocol,
    headers,
    serviceName: v("OTEL_SERVICE_NAME") ?? "tollgate",
    sampler: { kind, parentBased, ratio },
  };
}
