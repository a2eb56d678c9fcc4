/**
 * Gateway errors in the wire shapes the official SDKs understand: OpenAI's
 * `{"error":{"message","type","param","code"}}` on /v1/* and Anthropic's
 * `{"type":"error","error":{"type","message"}}` on /v1/messages. Every error
 * says who failed — `source: "gateway"` (Tollgate refused or broke) or
 * `"upstream"` (the provider did) — in the body and in `x-tollgate-error-source`.
 */

export type ErrorSource = "gateway" | "upstream";

/** OpenAI-style error `type`s; the Anthropic mapping is below. */
export type GatewayErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "request_too_large"
  | "upstream_error"
  | "timeout_error"
  | "overloaded_error"
  | "api_error";

export class GatewayError extends Error {
  constructor(
    public readonly status: number,
    public readonly type: GatewayErrorType,
    /** Stable lower_snake code, e.g. `invalid_api_key`, `model_not_allowed`, `insufficient_credits`. */
    public readonly code: string,
    message: string,
    public readonly source: ErrorSource = "gateway",
    public readonly headers: Record<string, string> = {},
    public readonly param: string | null = null,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

const ANTHROPIC_TYPES: Record<GatewayErrorType, string> = {
  invalid_request_error: "invalid_request_error",
  authentication_error: "authentication_error",
  permission_error: "permission_error",
  not_found_error: "not_found_error",
  rate_limit_error: "rate_limit_error",
  insufficient_quota: "billing_error",
  request_too_large: "request_too_large",
  upstream_error: "api_error",
  timeout_error: "timeout_error",
  overloaded_error: "overloaded_error",
  api_error: "api_error",
};

export function openaiErrorBody(e: GatewayError, requestId: string) {
  return {
    error: { message: e.message, type: e.type, param: e.param, code: e.code, source: e.source, request_id: requestId },
  };
}

export function anthropicErrorBody(e: GatewayError, requestId: string) {
  return {
    type: "error",
    error: { type: ANTHROPIC_TYPES[e.type], message: e.message, code: e.code, source: e.source },
    request_id: requestId,
  };
}

export const invalidRequest = (code: string, message: string, param: string | null = null) =>
  new GatewayError(400, "invalid_request_error", code, message, "gateway", {}, param);

/** How a provider failure reaches the client: always `source: "upstream"`, with the provider named. */
export function fromUpstream(
  e: { kind: string; status?: number; retryAfterMs?: number; message: string },
  provider: string,
): GatewayError {
  const headers: Record<string, string> = e.retryAfterMs
    ? { "retry-after": String(Math.ceil(e.retryAfterMs / 1000)) }
    : {};
  const msg = `Provider "${provider}": ${e.message}`;
  if (e.kind === "http" && e.status !== undefined) {
    if (e.status === 429)
      return new GatewayError(429, "rate_limit_error", "upstream_rate_limited", msg, "upstream", headers);
    if ([400, 404, 413, 422].includes(e.status))
      return new GatewayError(e.status, "invalid_request_error", "upstream_rejected_request", msg, "upstream");
    if (e.status === 401 || e.status === 403)
      return new GatewayError(
        502,
        "upstream_error",
        "upstream_auth_failed",
        `${msg} (the provider refused Tollgate's credentials; check the provider configuration)`,
        "upstream",
      );
    return new GatewayError(502, "upstream_error", "upstream_error", msg, "upstream", headers);
  }
  if (e.kind.startsWith("timeout")) return new GatewayError(504, "timeout_error", e.kind, msg, "upstream");
  if (e.kind === "blocked") return new GatewayError(502, "upstream_error", "upstream_address_blocked", msg, "gateway");
  if (e.kind === "circuit_open")
    return new GatewayError(503, "overloaded_error", "upstream_circuit_open", msg, "upstream", headers);
  if (e.kind === "aborted")
    return new GatewayError(499, "api_error", "client_closed_request", "The client closed the request.", "gateway");
  return new GatewayError(502, "upstream_error", `upstream_${e.kind}`, msg, "upstream", headers);
}

/** 402: the organization's available credits (balance minus holds of requests in flight) cannot cover the worst case. */
export const insufficientCredits = (message: string, retryAfterSeconds?: number) =>
  new GatewayError(
    402,
    "insufficient_quota",
    "insufficient_credits",
    message,
    "gateway",
    retryAfterSeconds ? { "retry-after": String(retryAfterSeconds) } : {},
  );

/** 402: the project's monthly spend cap would be passed. */
export const spendCapReached = (message: string) =>
  new GatewayError(402, "insufficient_quota", "spend_cap_reached", message, "gateway");

export const modelNotPriced = (model: string) =>
  new GatewayError(
    400,
    "invalid_request_error",
    "model_not_priced",
    `"${model}" has no price in Tollgate's price list, so it cannot be billed. Use a priced model (GET /v1/models shows each model's price), or ask the operator to price it (TOLLGATE_PRICE_OVERRIDES) or to allow unpriced models.`,
    "gateway",
    {},
    "model",
  );

export const testKeyModelNotAllowed = (model: string) =>
  new GatewayError(
    403,
    "permission_error",
    "test_key_model_not_allowed",
    `Test keys may only call free models (such as mock/echo) and your organization's own providers; "${model}" is billed. Use a live key for it.`,
    "gateway",
    {},
    "model",
  );
