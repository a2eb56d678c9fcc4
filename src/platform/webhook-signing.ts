/**
 * Signed webhook posts, shared by every outgoing webhook (billing alerts, log
 * destinations). Invariants:
 *  - the body is signed with the receiver's secret:
 *    `tollgate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 *    (docs/billing.md and docs/log-destinations.md show how to verify it);
 *  - the connection goes through the dispatcher the caller passes: the
 *    SSRF-guarded one (gateway/net/ssrf.ts createGuardedDispatcher), which
 *    checks every resolved address at connect time; redirects are never
 *    followed (a 3xx is a failed delivery);
 *  - one attempt, bounded by `timeoutMs` (connect to last byte of the answer);
 *    nothing here throws: the outcome says whether a retry may help (an
 *    address refused by the SSRF guard is not retryable).
 */
import { createHmac } from "node:crypto";
import { type Dispatcher, request } from "undici";

const SIGNATURE_HEADER = "tollgate-signature";

/** The signature header value for `body` at `timestamp` (unix seconds). */
export function signPayload(secret: string, body: string, timestamp: number): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

export interface SignedPost {
  url: string;
  secret: string;
  /** The JSON body, exactly as signed and sent. */
  body: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
  userAgent: string;
  signal?: AbortSignal;
}

export interface PostOutcome {
  /** The receiver's status code; null when no answer came. */
  status: number | null;
  /** Null when delivered (2xx). */
  error: string | null;
  /** Whether another attempt may succeed (network errors, timeouts, 408, 429, 5xx). */
  retryable: boolean;
}

/** The host of a webhook URL, the only part of it that is logged (a path can itself be a credential). */
export const webhookHost = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid url)";
  }
};

/** One signed POST; never throws. */
export async function postSigned(p: SignedPost): Promise<PostOutcome> {
  const headers = {
    "content-type": "application/json",
    "user-agent": p.userAgent,
    [SIGNATURE_HEADER]: signPayload(p.secret, p.body, Math.floor(Date.now() / 1000)),
  };
  const timeout = AbortSignal.timeout(p.timeoutMs);
  const signal = p.signal ? AbortSignal.any([timeout, p.signal]) : timeout;
  try {
    const res = await request(p.url, {
      method: "POST",
      headers,
      body: p.body,
      dispatcher: p.dispatcher,
      signal,
      headersTimeout: p.timeoutMs,
      bodyTimeout: p.timeoutMs,
    });
    // Drain (bounded by the same timeout) so the connection can be reused; the content does not matter.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const s = res.statusCode;
    if (s >= 200 && s < 300) return { status: s, retryable: false, error: null };
    const retryable = s === 408 || s === 429 || s >= 500;
    const error = s >= 300 && s < 400 ? `answered ${s} (redirects are not followed)` : `answered ${s}`;
    return { status: s, retryable, error };
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string } };
    const ssrf =
      e.code === "ERR_TOLLGATE_SSRF_BLOCKED" ||
      e.cause?.code === "ERR_TOLLGATE_SSRF_BLOCKED" ||
      /SSRF guard/.test(e.message);
    if (ssrf) return { status: null, retryable: false, error: "the address is not allowed (SSRF guard)" };
    if (timeout.aborted || e.name === "TimeoutError")
      return { status: null, retryable: true, error: `no answer within ${p.timeoutMs} ms` };
    if (p.signal?.aborted) return { status: null, retryable: true, error: "stopped (shutting down)" };
    if (e.name === "AbortError") return { status: null, retryable: true, error: `no answer within ${p.timeoutMs} ms` };
    return { status: null, retryable: true, error: `connection failed (${e.code ?? e.name})` };
  }
}
