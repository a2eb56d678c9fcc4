/**
 * How upstream failures become classified UpstreamErrors: socket and undici
 * errors by code and phase, non-2xx answers by status with the upstream's own
 * message and code (scrubbed of the API key) and its Retry-After.
 */
import { UpstreamError } from "../types.js";

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
]);

function errCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_CONNECT") return code;
    const errors = (e as { errors?: unknown }).errors;
    e = Array.isArray(errors) && errors.length ? errors[0] : (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps a socket/undici error to a kind. `beforeConnected`: the request was never written. */
export function classifyNetworkError(err: unknown, beforeConnected: boolean, label: string): UpstreamError {
  const code = errCode(err) ?? "UNKNOWN";
  if (code === "ERR_TOLLGATE_SSRF_BLOCKED") {
    return new UpstreamError("blocked", `${label}: the provider address is not allowed (private or metadata address)`);
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT") return new UpstreamError("timeout_connect", `${label}: connect timed out`);
  if (code === "UND_ERR_HEADERS_TIMEOUT")
    return new UpstreamError("timeout_first_byte", `${label} sent no response in time`);
  if (code === "UND_ERR_BODY_TIMEOUT") return new UpstreamError("timeout_idle", `${label} went silent mid-response`);
  if (CONNECT_CODES.has(code) || code.startsWith("ERR_TLS") || code.includes("CERT") || beforeConnected) {
    return new UpstreamError("connect", `${label}: could not connect (${code})`);
  }
  return new UpstreamError("reset", `${label}: connection lost before the response completed (${code})`);
}

/** Retry-After from `retry-after-ms`, `retry-after` (seconds or HTTP date), capped at one day. */
export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim();
  const cap = (ms: number) => Math.min(Math.max(0, Math.ceil(ms)), 86_400_000);
  const ms = one(headers["retry-after-ms"]);
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return cap(Number(ms));
  const ra = one(headers["retry-after"]);
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return cap(Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : cap(at - now);
}

/** Removes the key (and long key-looking fragments of it) from text we did not write. */
export function scrubSecret(text: string, apiKey?: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters (all but tab and newline) from upstream text are blanked before it reaches logs and clients
  let out = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ");
  if (apiKey && apiKey.length >= 4) {
    out = out.split(apiKey).join("[redacted]");
    // Providers echo masked variants like "sk-abc…wxyz"; drop any 8+ char run that is part of the key.
    out = out.replace(/[A-Za-z0-9_-]{8,}/g, (w) => (apiKey.includes(w) ? "[redacted]" : w));
  }
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

/** The upstream's error text/code from the shapes OpenAI, Anthropic, Gemini and common servers use. */
export function extractUpstreamError(text: string): { message?: string; code?: string; retryDelayMs?: number } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const t = text.trim();
    return t && !t.startsWith("<") ? { message: t.slice(0, 300) } : {};
  }
  if (Array.isArray(body)) body = body[0];
  if (!body || typeof body !== "object") return {};
  const b = body as Record<string, unknown>;
  const e = (b.error && typeof b.error === "object" ? b.error : b) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const message = str(e.message) ?? str(b.message) ?? str(b.detail) ?? str(b.error);
  const code = str(e.code) ?? str(e.type) ?? str(e.status);
  let retryDelayMs: number | undefined;
  if (Array.isArray(e.details)) {
    for (const d of e.details as Array<Record<string, unknown>>) {
      const m = typeof d?.retryDelay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay) : null;
      if (m) retryDelayMs = Math.ceil(Number(m[1]) * 1000);
    }
  }
  return { message, code, retryDelayMs };
}

export function httpError(
  label: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
  apiKey?: string,
): UpstreamError {
  const info = extractUpstreamError(bodyText);
  const retryAfterMs = parseRetryAfter(headers) ?? info.retryDelayMs;
  const what = status >= 300 && status < 400 ? "redirect (not followed)" : (info.message ?? "no error message");
  return new UpstreamError("http", scrubSecret(`${label} returned HTTP ${status}: ${what}`, apiKey), {
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(info.code ? { upstreamCode: scrubSecret(info.code, apiKey).slice(0, 100) } : {}),
    ...(status >= 300 && status < 400 ? { retryable: false } : {}),
  });
}
