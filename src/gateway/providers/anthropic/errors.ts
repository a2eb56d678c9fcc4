/**
 * Anthropic's error types → HTTP statuses, for an `error` event inside a
 * stream (non-2xx answers are classified by the HTTP layer).
 */
import { scrubSecret } from "../http/index.js";
import { UpstreamError } from "../types.js";

const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
  timeout_error: 504,
};

/** The UpstreamError of a stream's `error` event (its type decides the status). */
export function streamErrorEvent(
  error: { type?: unknown; message?: unknown } | undefined,
  label: string,
  apiKey?: string,
): UpstreamError {
  const type = String(error?.type ?? "api_error");
  return new UpstreamError("http", scrubSecret(`${label} stream error: ${error?.message ?? type}`, apiKey), {
    status: ERROR_STATUS[type] ?? 500,
    upstreamCode: type,
  });
}
