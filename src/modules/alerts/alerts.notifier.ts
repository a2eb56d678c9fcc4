/**
 * Delivery of billing alerts: email (the platform mailer) and the optional
 * signed webhook. Invariants:
 *  - the webhook body is signed with the org's secret and posted through the
 *    SSRF-guarded dispatcher, as every outgoing webhook
 *    (platform/webhook-signing.ts; docs/billing.md shows how to verify it);
 *  - 5 s per attempt, 2 retries with backoff on network errors, 408, 429 and
 *    5xx; an address refused by the SSRF guard is not retried;
 *  - nothing here throws: failures are logged (host only — never the secret,
 *    the full URL or the body) and returned to the caller.
 */
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Mailer, MailMessage } from "../../platform/mail.js";
import { postSigned, webhookHost } from "../../platform/webhook-signing.js";

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createNotifier(opts: NotifierOptions) {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const retries = opts.retries ?? 2;
  const backoff = opts.backoffBaseMs ?? 1_000;

  const attempt = (target: WebhookTarget, body: string) =>
    postSigned({
      ...target,
      body,
      dispatcher: opts.dispatcher,
      timeoutMs,
      userAgent: "Tollgate-Alerts/1",
    });

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
            { ...context, host: webhookHost(target.url), attempts: n + 1, error: r.error },
            "billing alert webhook delivery failed",
          );
          return { delivered: false, status: r.status, attempts: n + 1, error: r.error };
        }
        opts.log.warn(
          { ...context, host: webhookHost(target.url), attempt: n + 1, error: r.error },
          "billing alert webhook attempt failed",
        );
      }
      opts.log.error(
        { ...context, host: webhookHost(target.url), attempts: retries + 1, error: last.error },
        "billing alert webhook delivery failed",
      );
      return { delivered: false, status: last.status, attempts: retries + 1, error: last.error };
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
