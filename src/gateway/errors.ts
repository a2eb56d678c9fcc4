/**
 * The gateway's error catalogue and its wire shapes. Every error a gateway
 * call can end with has a stable lower_snake code in `GATEWAY_ERRORS`, which
 * fixes its HTTP status, its OpenAI-style `type` and who failed — `gateway`
 * (Tollgate refused or broke) or `upstream` (the provider did) — and, where
 * the text never varies, its message. Errors are built by code
 * (`gatewayError`) or by the named constructors below, never by hand.
 *
 * On the wire: OpenAI's `{"error":{"message","type","param","code"}}` on /v1/*
 * and Anthropic's `{"type":"error","error":{"type","message"}}` on
 * /v1/messages; the source also goes out in `x-tollgate-error-source`.
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

interface CatalogueEntry {
  status: number;
  type: GatewayErrorType;
  source?: ErrorSource;
  /** The message when it never varies. */
  message?: string;
}

const RETRY_SHORTLY = { "retry-after": "1" };

/** Every fixed gateway error code. Request-validation codes (400) are the open family below. */
export const GATEWAY_ERRORS = {
  missing_api_key: {
    status: 401,
    type: "authentication_error",
    message: "Send your project API key as `Authorization: Bearer <key>` or `x-api-key: <key>`.",
  },
  invalid_api_key: { status: 401, type: "authentication_error" },
  key_revoked: { status: 401, type: "authentication_error", message: "The API key was revoked." },
  key_expired: { status: 401, type: "authentication_error", message: "The API key has expired." },
  insufficient_credits: { status: 402, type: "insufficient_quota" },
  spend_cap_reached: { status: 402, type: "insufficient_quota" },
  key_budget_exceeded: { status: 402, type: "insufficient_quota" },
  end_user_budget_exceeded: { status: 402, type: "insufficient_quota" },
  organization_disabled: {
    status: 403,
    type: "permission_error",
    message:
      "This organization was disabled by the instance operator; its members can see why in the Tollgate dashboard.",
  },
  model_not_allowed: { status: 403, type: "permission_error" },
  test_key_model_not_allowed: { status: 403, type: "permission_error" },
  policy_violation: { status: 403, type: "permission_error" },
  model_not_found: { status: 404, type: "not_found_error" },
  unknown_url: { status: 404, type: "invalid_request_error" },
  response_not_found: { status: 404, type: "not_found_error" },
  previous_response_not_found: { status: 400, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "request_too_large" },
  unsupported_media_type: { status: 415, type: "invalid_request_error", message: "Send the body as application/json." },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  client_closed_request: { status: 499, type: "api_error", message: "The client closed the request." },
  internal_error: {
    status: 500,
    type: "api_error",
    message: "Tollgate failed to handle this request; it was logged with the request id.",
  },
  server_shutting_down: {
    status: 503,
    type: "api_error",
    message: "Tollgate is restarting and did not finish this request; retry it.",
  },
  rate_limiter_unavailable: {
    status: 503,
    type: "api_error",
    message: "Rate limits cannot be checked right now (the shared rate-limit store is unreachable). Retry shortly.",
  },
  billing_unavailable: {
    status: 503,
    type: "api_error",
    message: "Credits cannot be checked right now (the shared billing store is unreachable). Retry shortly.",
  },
  policy_unavailable: {
    status: 503,
    type: "api_error",
    message: "Tollgate could not load this project's security policy, so the request was not sent; retry shortly.",
  },
  // The provider failed. `upstream_rejected_request` keeps the provider's own client-error status.
  upstream_rejected_request: { status: 400, type: "invalid_request_error", source: "upstream" },
  upstream_rate_limited: { status: 429, type: "rate_limit_error", source: "upstream" },
  upstream_auth_failed: { status: 502, type: "upstream_error", source: "upstream" },
  upstream_error: { status: 502, type: "upstream_error", source: "upstream" },
  upstream_connect: { status: 502, type: "upstream_error", source: "upstream" },
  upstream_reset: { status: 502, type: "upstream_error", source: "upstream" },
  upstream_http: { status: 502, type: "upstream_error", source: "upstream" },
  upstream_protocol: { status: 502, type: "upstream_error", source: "upstream" },
  upstream_address_blocked: { status: 502, type: "upstream_error" },
  upstream_circuit_open: { status: 503, type: "overloaded_error", source: "upstream" },
  timeout_connect: { status: 504, type: "timeout_error", source: "upstream" },
  timeout_first_byte: { status: 504, type: "timeout_error", source: "upstream" },
  timeout_idle: { status: 504, type: "timeout_error", source: "upstream" },
  timeout_total: { status: 504, type: "timeout_error", source: "upstream" },
} as const satisfies Record<string, CatalogueEntry>;

/** A request the gateway cannot take as sent (400): `invalid_<field>`, `model_required`, `unsupported_<what>`… */
export type InvalidRequestCode =
  | `invalid_${string}`
  | `unsupported_${string}`
  | `unknown_${string}`
  | `${string}_not_supported`
  | "model_required"
  | "model_not_priced";

/** Every code a gateway error can carry (the dashboard's request log shows them). */
export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS | InvalidRequestCode;

const INVALID_REQUEST: CatalogueEntry = { status: 400, type: "invalid_request_error" };

function entryOf(code: GatewayErrorCode): CatalogueEntry {
  return (GATEWAY_ERRORS as Record<string, CatalogueEntry>)[code] ?? INVALID_REQUEST;
}

export interface GatewayErrorOptions {
  headers?: Record<string, string>;
  /** The request field at fault (OpenAI's `param`). */
  param?: string | null;
  /** `upstream_rejected_request` only: the provider's own client-error status. */
  status?: number;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly type: GatewayErrorType;
  readonly source: ErrorSource;
  readonly headers: Record<string, string>;
  readonly param: string | null;

  constructor(
    /** Stable lower_snake code from the catalogue. */
    readonly code: GatewayErrorCode,
    message?: string,
    opts: GatewayErrorOptions = {},
  ) {
    const entry = entryOf(code);
    super(message ?? entry.message ?? code);
    this.name = "GatewayError";
    this.status = opts.status ?? entry.status;
    this.type = entry.type;
    this.source = entry.source ?? "gateway";
    this.headers = opts.headers ?? {};
    this.param = opts.param ?? null;
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

// Named constructors for the errors raised in more than one place.

export const invalidRequest = (code: InvalidRequestCode, message: string, param: string | null = null) =>
  new GatewayError(code, message, { param });

export const internalError = () => new GatewayError("internal_error");

export const clientClosed = () => new GatewayError("client_closed_request");

export const shuttingDown = (connectionClose = false) =>
  new GatewayError("server_shutting_down", undefined, {
    headers: connectionClose ? { ...RETRY_SHORTLY, connection: "close" } : { ...RETRY_SHORTLY },
  });

/** 503 with `Retry-After: 1`: a shared store (rate limits, credits) or the policy cannot be read right now. */
export const unavailable = (code: "rate_limiter_unavailable" | "billing_unavailable" | "policy_unavailable") =>
  new GatewayError(code, undefined, { headers: { ...RETRY_SHORTLY } });

/** Anything thrown that is not a GatewayError becomes a generic 500 (the cause is logged, never sent). */
export const toGatewayError = (err: unknown): GatewayError => (err instanceof GatewayError ? err : internalError());

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
    if (e.status === 429) return new GatewayError("upstream_rate_limited", msg, { headers });
    if ([400, 404, 413, 422].includes(e.status))
      return new GatewayError("upstream_rejected_request", msg, { status: e.status });
    if (e.status === 401 || e.status === 403)
      return new GatewayError(
        "upstream_auth_failed",
        `${msg} (the provider refused Tollgate's credentials; check the provider configuration)`,
      );
    return new GatewayError("upstream_error", msg, { headers });
  }
  if (e.kind === "aborted") return clientClosed();
  if (e.kind === "blocked") return new GatewayError("upstream_address_blocked", msg);
  if (e.kind === "circuit_open") return new GatewayError("upstream_circuit_open", msg, { headers });
  const code = (e.kind.startsWith("timeout") ? e.kind : `upstream_${e.kind}`) as GatewayErrorCode;
  return new GatewayError(code in GATEWAY_ERRORS ? code : "upstream_error", msg, { headers });
}

/** 402: the organization's available credits (balance minus holds of requests in flight) cannot cover the worst case. */
export const insufficientCredits = (message: string, retryAfterSeconds?: number) =>
  new GatewayError("insufficient_credits", message, {
    headers: retryAfterSeconds ? { "retry-after": String(retryAfterSeconds) } : {},
  });

/** 402: the project's monthly spend cap would be passed. */
export const spendCapReached = (message: string) => new GatewayError("spend_cap_reached", message);

/** 402: a key's budget, or the project's budget per end user, would be passed. */
export const budgetExceeded = (code: "key_budget_exceeded" | "end_user_budget_exceeded", message: string) =>
  new GatewayError(code, message);

export const modelNotPriced = (model: string) =>
  invalidRequest(
    "model_not_priced",
    `"${model}" has no price in Tollgate's price list, so it cannot be billed. Use a priced model (GET /v1/models shows each model's price), or ask the operator to price it (TOLLGATE_PRICE_OVERRIDES) or to allow unpriced models.`,
    "model",
  );

/** 404, as OpenAI answers a model that does not exist or that the key may not use. */
export const modelNotFound = (model: string) =>
  new GatewayError("model_not_found", `The model '${model}' does not exist or you do not have access to it.`);

export const testKeyModelNotAllowed = (model: string) =>
  new GatewayError(
    "test_key_model_not_allowed",
    `Test keys may only call free models (such as mock/echo) and your organization's own providers; "${model}" is billed. Use a live key for it.`,
    { param: "model" },
  );
