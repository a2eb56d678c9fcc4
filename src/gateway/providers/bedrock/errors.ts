/**
 * Bedrock's errors → classified UpstreamErrors. AWS names each error by its
 * exception type (the `x-amzn-errortype` header, `__type` in the body, or
 * `:exception-type` on an event-stream frame) and words it in `message`.
 * Invariants:
 * - The status decides the gateway's class (errors.ts fromUpstream: 401/403
 *   auth, 429 rate limit, 400/404 the request's fault — no failover, 5xx and
 *   others provider failures that fail over); the type only corrects AWS's few
 *   odd statuses: every signature/credential error is auth (403) even when AWS
 *   answers 400, and an account quota (ServiceQuotaExceededException, a 400 at
 *   AWS) is a rate limit (429).
 * - Messages carry the status, the type and AWS's own text, scrubbed of the
 *   secret key and session token; never a header, a URL or the signature.
 */
import { parseRetryAfter, scrubSecret } from "../http/index.js";
import { UpstreamError } from "../types.js";

/** Statuses of the types whose AWS status is not the class they belong to, and of stream exceptions (no status). */
const STATUS_OF: Record<string, number> = {
  // Credentials and signatures: the provider configuration is wrong.
  AccessDeniedException: 403,
  InvalidSignatureException: 403,
  IncompleteSignatureException: 403,
  UnrecognizedClientException: 403,
  MissingAuthenticationTokenException: 403,
  ExpiredTokenException: 403,
  InvalidClientTokenId: 403,
  // A quota of the AWS account, not a fault of the request.
  ServiceQuotaExceededException: 429,
};

/** The status each exception type carries when it arrives without one (a stream's exception frame). */
const STREAM_STATUS: Record<string, number> = {
  ValidationException: 400,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  ModelStreamErrorException: 424,
  ModelErrorException: 424,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

/** `ValidationException:http://internal.amazon.com/…`, `com.amazon.coral.service#X`, `throttlingException` → `X`. */
export function exceptionName(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let name = raw.split(":")[0]!;
  name = name.slice(name.lastIndexOf("#") + 1).trim();
  if (!/^[A-Za-z][A-Za-z0-9]{0,99}$/.test(name)) return undefined;
  return name[0]!.toUpperCase() + name.slice(1);
}

/** AWS's `message` (or `Message`) and `__type` of an error body; nothing from a body that is not JSON. */
function readBody(text: string): { message?: string; type?: string } {
  let b: unknown;
  try {
    b = JSON.parse(text);
  } catch {
    const t = text.trim();
    return t && !t.startsWith("<") ? { message: t.slice(0, 300) } : {};
  }
  if (!b || typeof b !== "object") return {};
  const o = b as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  return { message: str(o.message) ?? str(o.Message), type: str(o.__type) ?? str(o.code) };
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = scrubSecret(out, s);
  return scrubSecret(out);
}

/** A non-2xx Bedrock answer. */
export function bedrockHttpError(
  label: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
  secrets: readonly string[],
): UpstreamError {
  const header = headers["x-amzn-errortype"];
  const body = readBody(bodyText);
  const type = exceptionName(Array.isArray(header) ? header[0] : header) ?? exceptionName(body.type);
  const classStatus = (type && STATUS_OF[type]) || status;
  const redirect = status >= 300 && status < 400;
  const what = redirect ? "redirect (not followed)" : (body.message ?? "no error message");
  const retryAfterMs = parseRetryAfter(headers);
  return new UpstreamError(
    "http",
    scrub(`${label} returned HTTP ${status}${type ? ` ${type}` : ""}: ${what}`, secrets),
    {
      status: classStatus,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(type ? { upstreamCode: type } : {}),
      ...(redirect ? { retryable: false } : {}),
    },
  );
}

/** An exception frame of an event stream (`:exception-type` with a JSON `message`), or an `error` frame. */
export function bedrockStreamError(
  label: string,
  rawType: string | undefined,
  bodyText: string,
  secrets: readonly string[],
): UpstreamError {
  const type = exceptionName(rawType) ?? "InternalServerException";
  const message = readBody(bodyText).message ?? "no error message";
  return new UpstreamError("http", scrub(`${label} stream error ${type}: ${message}`, secrets), {
    status: STATUS_OF[type] ?? STREAM_STATUS[type] ?? 500,
    upstreamCode: type,
  });
}

/** Scrubs the secrets from an UpstreamError that did not come from Bedrock's own error text (network, timeouts). */
export function scrubbed(e: UpstreamError, secrets: readonly string[]): UpstreamError {
  const message = scrub(e.message, secrets);
  if (message === e.message) return e;
  return new UpstreamError(e.kind, message, {
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
    ...(e.upstreamCode !== undefined ? { upstreamCode: e.upstreamCode } : {}),
    retryable: e.retryable,
  });
}
