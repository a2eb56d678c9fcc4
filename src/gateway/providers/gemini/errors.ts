/**
 * Gemini's error shape inside a 200 answer (`{"error":{...}}` in the body or a
 * stream event); non-2xx answers are classified by the HTTP layer.
 */
import { extractUpstreamError, scrubSecret } from "../http/index.js";
import { UpstreamError } from "../types.js";
import type { GenResponse } from "./response.js";

/** Throws the UpstreamError of an answer that is an error object. */
export function checkError(r: GenResponse, label: string, apiKey?: string) {
  if (r && typeof r === "object" && r.error) {
    const info = extractUpstreamError(JSON.stringify(r));
    const code = (r.error as { code?: unknown }).code;
    throw new UpstreamError(
      "http",
      scrubSecret(`${label} reported an error: ${info.message ?? "unknown error"}`, apiKey),
      {
        ...(typeof code === "number" ? { status: code } : {}),
        ...(info.code ? { upstreamCode: info.code } : {}),
      },
    );
  }
}
