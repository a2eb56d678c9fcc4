/**
 * A gateway call's rate limits, per project and per key: requests per minute
 * before the body is read; tokens per minute charged first as an estimate
 * from the body's size (so a flood of huge prompts is refused up front), then
 * corrected to the tokens actually used once the answer is complete. Test
 * keys have a lower request ceiling. Each decision goes out in the
 * `x-ratelimit-*` headers; a refusal is a 429 with `Retry-After`.
 */
import type { Caller } from "../call.js";
import { GatewayError } from "../errors.js";
import type { Exchange } from "../exchange.js";
import type { Usage } from "../types.js";
import { MINUTE, type RateLimitDecision, type RateLimitStore } from "./ratelimit.js";

const LIMIT_HEADERS = {
  requests: ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"],
  tokens: ["x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"],
} as const;

function setLimitHeaders(headers: Record<string, string>, kind: "requests" | "tokens", d: RateLimitDecision): void {
  const [limit, remaining, reset] = LIMIT_HEADERS[kind];
  headers[limit] = String(d.limit);
  headers[remaining] = String(d.remaining);
  headers[reset] = `${Math.ceil(d.resetMs / 1000)}s`;
}

function rateLimited(kind: "requests" | "tokens", scope: "project" | "key", d: RateLimitDecision): GatewayError {
  const headers: Record<string, string> = { "retry-after": String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) };
  setLimitHeaders(headers, kind, d);
  return new GatewayError(
    "rate_limit_exceeded",
    `Rate limit reached: ${d.limit} ${kind} per minute for this ${scope}. Retry after ${Math.ceil(d.retryAfterMs / 1000)} s.`,
    { headers },
  );
}

/** The token-limit windows a call was charged in, to correct once its usage is known. */
export type TokenCharges = Array<{ name: string; limit: number; charged: number }>;

export function createCallLimits(store: RateLimitStore, testKeyRpm: number) {
  return {
    /** Request-rate limits (project, then key): before the body is read. */
    async requests(x: Exchange, caller: Caller): Promise<void> {
      const keyRpm =
        caller.environment === "test"
          ? Math.min(caller.keyRateLimit.rpm ?? testKeyRpm, testKeyRpm)
          : caller.keyRateLimit.rpm;
      if (caller.rateLimit.rpm) {
        const d = await store.hit(`rpm:p:${caller.projectId}`, 1, { limit: caller.rateLimit.rpm, windowMs: MINUTE });
        if (!d.allowed) throw rateLimited("requests", "project", d);
        setLimitHeaders(x.headers, "requests", d);
      }
      if (keyRpm) {
        const d = await store.hit(`rpm:k:${caller.keyId}`, 1, { limit: keyRpm, windowMs: MINUTE });
        if (!d.allowed) throw rateLimited("requests", "key", d);
        setLimitHeaders(x.headers, "requests", d);
      }
    },

    /** Token-rate limits, against the body's rough size before any upstream call; returns what was charged. */
    async tokens(x: Exchange, caller: Caller): Promise<TokenCharges> {
      const estimate = Math.ceil(x.bodyBytes / 4) || 1;
      const charges: TokenCharges = [];
      for (const [name, limit, scope] of [
        [`tpm:p:${caller.projectId}`, caller.rateLimit.tpm, "project"],
        [`tpm:k:${caller.keyId}`, caller.keyRateLimit.tpm, "key"],
      ] as const) {
        if (!limit) continue;
        const charged = Math.min(estimate, limit);
        const d = await store.hit(name, charged, { limit, windowMs: MINUTE });
        if (!d.allowed) throw rateLimited("tokens", scope, d);
        setLimitHeaders(x.headers, "tokens", d);
        charges.push({ name, limit, charged });
      }
      return charges;
    },

    /** Replaces the estimate with the tokens the call really used (a failed call that produced nothing refunds it). */
    async settleTokens(charges: TokenCharges, usage: Usage | null): Promise<void> {
      const actual = usage ? usage.inputTokens + usage.outputTokens : 0;
      for (const c of charges) {
        const delta = actual - c.charged;
        if (delta !== 0) await store.adjust(c.name, delta, { limit: c.limit, windowMs: MINUTE });
      }
    },
  };
}
