/**
 * Delivery of billing alerts: email (the platform mailer) and the optional
 * signed webhook. Invariants:
 *  - the webhook body is signed with the org's secret:
 *    `tollgate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 *    (docs/billing.md shows how to verify it);
 *  - the connection goes through the SSRF-guarded dispatcher (resolved
 *    addresses checked at connect time, same rules as custom providers);
 *    redirects are never followed (a 3xx is a failed delivery);
 *  - 5 s per attempt, 2 retries with backoff on network errors, 408, 429 and
 *    5xx; an address refused by the SSRF guard is not retried;
 *  - nothing here throws: failures are logged (host only — never the secret,
 *    the full URL or the body) and returned to the caller.
 */
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import { type Dispatcher, request } from "undici";
import type { Mailer, MailMessage } from "../../platform/mail.js";

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WebhookResult {
  delivered: boolean;
  status: number | null;
  attempts: number;
  error: string | null;
}

export interface NotifierOptions {
  mailer: Mailer;
  /** The SSRF-guarded dispatcher (gateway/net/ssrf.ts createGuardedDispatcher). */
  dispatcher: Dispatcher;
  log: Logger;
  timeoutMs?: number;
  retries?: number;
  /** Backoff before retry n (1-based): base × 3^(n-1). */
  backoffBaseMs?: number;
}

const SIGNATURE_HEADER = "tollgate-signature";

/** The signature header value for `body` at `timestamp` (unix seconds). */
export function signPayload(secret: string, body: string, timestamp: number): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid url)";
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createNotifier(opts: NotifierOptions) {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const retries = opts.retries ?? 2;
  const backoff = opts.backoffBaseMs ?? 1_000;

  async function attempt(
    target: WebhookTarget,
    body: string,
  ): Promise<{ status: number | null; retryable: boolean; error: string | null }> {
    const headers = {
      "content-type": "application/json",
      "user-agent": "Tollgate-Alerts/1",
      [SIGNATURE_HEADER]: signPayload(target.secret, body, Math.floor(Date.now() / 1000)),
    };
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await request(target.url, {
        method: "POST",
        headers,
        body,
        dispatcher: opts.dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
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
      if (signal.aborted || e.name === "TimeoutError" || e.name === "AbortError")
        return { status: null, retryable: true, error: `no answer within ${timeoutMs} ms` };
      return { status: null, retryable: true, error: `connection failed (${e.code ?? e.name})` };
    }
  }

  return {
    async sendMail(messages: MailMessage[], context: Record<string, unknown>): Promise<string[]> {
      const sent: string[] = [];
      for (const m of messages) {
        try {
          await opts.mailer.send(m);
          sent.push(m.to);
        } catch (err) {
          opts.log.error({ ...context, to: m.to, err: (err as Error).message }, "billing alert email failed");
        }
      }
      return sent;
    },

    /** POSTs `payload` to the webhook with retries; never throws. */
    async postWebhook(
      target: WebhookTarget,
      payload: Record<string, unknown>,
      context: Record<string, unknown>,
    ): Promise<WebhookResult> {
      const body = JSON.stringify(payload);
      let last = { status: null as number | null, error: null as string | null };
      for (let n = 0; n <= retries; n++) {
        if (n > 0) await sleep(backoff * 3 ** (n - 1));
        const r = await attempt(target, body);
        last = { status: r.status, error: r.error };
        if (r.error === null) return { delivered: true, status: r.status, attempts: n + 1, error: null };
        if (!r.retryable) {
          opts.log.error(
            { ...context, host: hostOf(target.url), attempts: n + 1, error: r.error },
            "billing alert webhook delivery failed",
          );
          return { delivered: false, status: r.status, attempts: n + 1, error: r.error };
        }
        opts.log.warn(
          { ...context, host: hostOf(target.url), attempt: n + 1, error: r.error },
          "billing alert webhook attempt failed",
        );
      }
      opts.log.error(
        { ...context, host: hostOf(target.url), attempts: retries + 1, error: last.error },
        "billing alert webhook delivery failed",
      );
      return { delivered: false, status: last.status, attempts: retries + 1, error: last.error };
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
