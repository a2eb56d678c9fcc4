/**
 * OpenAI's error shape inside a 200 answer: an `{"error":{...}}` object in the
 * body or as a stream event (non-2xx answers are classified by the HTTP layer).
 */
import { extractUpstreamError, scrubSecret } from "../http/index.js";
import { UpstreamError } from "../types.js";

/** An `{"error":{...}}` object delivered with a 200 (mid-stream or in body). */
export function streamError(raw: Record<string, unknown>, label: string, apiKey?: string): UpstreamError {
  const info = extractUpstreamError(JSON.stringify(raw));
  const status =
    typeof (raw.error as { code?: unknown })?.code === "number" ? (raw.error as { code: number }).code : undefined;
  return new UpstreamError(
    "http",
    scrubSecret(`${label} reported an error mid-response: ${info.message ?? "unknown error"}`, apiKey),
    {
      ...(status ? { status } : {}),
      ...(info.code ? { upstreamCode: info.code } : {}),
    },
  );
}
