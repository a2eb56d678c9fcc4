/**
 * The gateway's HTTP surface: /v1/chat/completions, /v1/messages,
 * /v1/embeddings, /v1/models — in their own Fastify context with their own
 * body parser, key authentication and error shapes (OpenAI on /v1/*, Anthropic
 * on /v1/messages). Cookies never authenticate here; only project API keys.
 *
 * Order per request: key auth and request-rate limits before the body is read
 * (onRequest), then the body limit and parse (413/400 before any work), then
 * the token-rate limit, then the pipeline. A request refused before the
 * pipeline is reported to `refused` (the pipeline logs everything after).
 *
 * Token limits are charged twice: an estimate from the body's byte size before
 * the call (so a flood of huge prompts is refused up front), then corrected to
 * the tokens actually used — input and output — once the answer is complete.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import sjson from "secure-json-parse";
import { anthropicErrorBody, GatewayError, invalidRequest, openaiErrorBody } from "./errors.js";
import type { InboundFormat } from "./pipeline.js";
import type { Usage } from "./types.js";
import { MINUTE, type RateLimitDecision, type RateLimitStore } from "./ratelimit/ratelimit.js";

export interface VerifiedKey {
  keyId: string;
  orgId: string;
  projectId: string;
  environment: "live" | "test";
  rateLimit: { rpm: number | null; tpm: number | null };
  keyRateLimit: { rpm: number | null; tpm: number | null };
}

export interface GatewayRouteDeps<K extends VerifiedKey> {
  verify(raw: string): Promise<{ ok: true; ctx: K } | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired" }>;
  rateLimits: RateLimitStore;
  /** Ceiling for test keys' request rate (test keys have lower limits). */
  testKeyRpm: number;
  bodyLimit: number;
  /** Answers the request; resolves with the usage it consumed (null when nothing was generated). */
  chat(request: FastifyRequest, reply: FastifyReply, key: K, inbound: InboundFormat): Promise<Usage | null>;
  inbound: { openai: InboundFormat; anthropic?: InboundFormat };
  embeddings?(request: FastifyRequest, reply: FastifyReply, key: K): Promise<unknown>;
  models(key: K): Promise<unknown>;
  /** JSON nesting depth / string checks on the parsed body; throws a GatewayError. */
  checkBody?(value: unknown): void;
  /**
   * A request refused before the pipeline took it (401, 429, 400/413/415 body errors): `key` is
   * the verified key, or null when there is none. Called once, before the error is sent; must not throw.
   */
  refused?(request: FastifyRequest, reply: FastifyReply, key: K | null, error: GatewayError): void;
}

declare module "fastify" {
  interface FastifyRequest {
    gatewayKey: unknown;
    /** Size of the raw JSON body in bytes (the token-limit estimate; Content-Length is absent when chunked). */
    gatewayBodyBytes: number;
    /** The body's JSON text as received (logged as is when the project logs bodies). */
    gatewayBodyText: string | null;
    /** Set once the pipeline owns the request: it writes the request's log row, failures included. */
    gatewayHandled: boolean;
  }
}

const KEY_FAILURES: Record<string, string> = {
  malformed: "The API key is malformed. Tollgate keys look like tg_live_… or tg_test_….",
  unknown: "The API key is not valid.",
  revoked: "The API key was revoked.",
  expired: "The API key has expired.",
};

function rawKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === "string" && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, "").trim();
  const x = request.headers["x-api-key"];
  return typeof x === "string" ? x.trim() : undefined;
}

function limitHeaders(kind: "requests" | "tokens", d: RateLimitDecision): Record<string, string> {
  return {
    [`x-ratelimit-limit-${kind}`]: String(d.limit),
    [`x-ratelimit-remaining-${kind}`]: String(d.remaining),
    [`x-ratelimit-reset-${kind}`]: `${Math.ceil(d.resetMs / 1000)}s`,
  };
}

function rateLimited(kind: "requests" | "tokens", scope: "project" | "key", d: RateLimitDecision): GatewayError {
  return new GatewayError(429, "rate_limit_error", "rate_limit_exceeded", `Rate limit reached: ${d.limit} ${kind} per minute for this ${scope}. Retry after ${Math.ceil(d.retryAfterMs / 1000)} s.`, "gateway", {
    "retry-after": String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))),
    ...limitHeaders(kind, d),
  });
}

export function registerGatewayRoutes<K extends VerifiedKey>(app: FastifyInstance, deps: GatewayRouteDeps<K>): void {
  // No "incoming request"/"request completed" lines per gateway call at info level: every call
  // already gets a request-log row, and two log lines cost more CPU than the rest of the
  // request's bookkeeping. Warnings and errors are still logged.
  const current = app.log.level as string;
  const logLevel = (["fatal", "error", "silent"].includes(current) ? current : "warn") as "fatal" | "error" | "silent" | "warn";
  void app.register(async (gw) => {
    gw.decorateRequest("gatewayKey", null);
    gw.decorateRequest("gatewayBodyBytes", 0);
    gw.decorateRequest("gatewayBodyText", null);
    gw.decorateRequest("gatewayHandled", false);
    const decoder = new TextDecoder("utf-8", { fatal: true });

    gw.removeAllContentTypeParsers();
    gw.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: deps.bodyLimit }, (req, buf, done) => {
      req.gatewayBodyBytes = (buf as Buffer).length;
      let text: string;
      try {
        text = decoder.decode(buf as Buffer);
      } catch {
        return done(invalidRequest("invalid_utf8", "The body is not valid UTF-8."), undefined);
      }
      let value: unknown;
      try {
        value = sjson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
      } catch {
        return done(invalidRequest("invalid_json", "The body is not valid JSON (or uses the reserved keys __proto__/constructor)."), undefined);
      }
      try {
        deps.checkBody?.(value);
      } catch (err) {
        return done(err as Error, undefined);
      }
      req.gatewayBodyText = text;
      done(null, value);
    });

    gw.setErrorHandler((err, request, reply) => {
      const e = toGatewayError(err);
      if (e.status >= 500) request.log.error({ err }, "gateway error");
      if (!request.gatewayHandled && deps.refused) {
        try {
          deps.refused(request, reply, (request.gatewayKey as K | null) ?? null, e);
        } catch (logErr) {
          request.log.warn({ err: logErr }, "refused request could not be recorded");
        }
      }
      reply.headers({ "x-tollgate-error-source": e.source, ...e.headers });
      const body = request.url.startsWith("/v1/messages") ? anthropicErrorBody(e, request.id) : openaiErrorBody(e, request.id);
      return reply.status(e.status).send(body);
    });

    gw.addHook("onRequest", async (request, reply) => {
      const raw = rawKey(request);
      if (!raw) {
        throw new GatewayError(401, "authentication_error", "missing_api_key", "Send your project API key as `Authorization: Bearer <key>` or `x-api-key: <key>`.");
      }
      const v = await deps.verify(raw);
      if (!v.ok) throw new GatewayError(401, "authentication_error", v.reason === "revoked" || v.reason === "expired" ? `key_${v.reason}` : "invalid_api_key", KEY_FAILURES[v.reason]!);
      const key = v.ctx;
      request.gatewayKey = key;
      if (request.method === "GET") return;
      const keyRpm = key.environment === "test" ? Math.min(key.keyRateLimit.rpm ?? deps.testKeyRpm, deps.testKeyRpm) : key.keyRateLimit.rpm;
      const checks: Array<[string, number | null, "project" | "key"]> = [
        [`rpm:p:${key.projectId}`, key.rateLimit.rpm, "project"],
        [`rpm:k:${key.keyId}`, keyRpm, "key"],
      ];
      for (const [name, limit, scope] of checks) {
        if (!limit) continue;
        const d = await deps.rateLimits.hit(name, 1, { limit, windowMs: MINUTE });
        if (!d.allowed) throw rateLimited("requests", scope, d);
        reply.headers(limitHeaders("requests", d));
      }
    });

    type TokenCharge = Array<{ name: string; limit: number; charged: number }>;

    /** Token-rate limits, checked against the body's rough size before any upstream call; returns what was charged. */
    async function checkTokens(request: FastifyRequest, reply: FastifyReply, key: K): Promise<TokenCharge> {
      const estimate = Math.ceil(request.gatewayBodyBytes / 4) || 1;
      const charges: TokenCharge = [];
      for (const [name, limit, scope] of [
        [`tpm:p:${key.projectId}`, key.rateLimit.tpm, "project"],
        [`tpm:k:${key.keyId}`, key.keyRateLimit.tpm, "key"],
      ] as const) {
        if (!limit) continue;
        const charged = Math.min(estimate, limit);
        const d = await deps.rateLimits.hit(name, charged, { limit, windowMs: MINUTE });
        if (!d.allowed) throw rateLimited("tokens", scope, d);
        reply.headers(limitHeaders("tokens", d));
        charges.push({ name, limit, charged });
      }
      return charges;
    }

    /** Replaces the estimate with the tokens the request really used (a failed call that produced nothing refunds it). */
    async function settleTokens(charges: TokenCharge, usage: Usage | null) {
      const actual = usage ? usage.inputTokens + usage.outputTokens : 0;
      for (const c of charges) {
        const delta = actual - c.charged;
        if (delta !== 0) await deps.rateLimits.adjust(c.name, delta, { limit: c.limit, windowMs: MINUTE });
      }
    }

    const keyOf = (request: FastifyRequest) => request.gatewayKey as K;
    const access = { access: { kind: "apiKey" as const } };

    gw.post("/v1/chat/completions", { config: access, schema: { hide: true } }, async (request, reply) => {
      const charges = await checkTokens(request, reply, keyOf(request));
      request.gatewayHandled = true;
      await settleTokens(charges, await deps.chat(request, reply, keyOf(request), deps.inbound.openai));
      return reply;
    });

    if (deps.inbound.anthropic) {
      const anthropic = deps.inbound.anthropic;
      gw.post("/v1/messages", { config: access, schema: { hide: true } }, async (request, reply) => {
        const charges = await checkTokens(request, reply, keyOf(request));
        request.gatewayHandled = true;
        await settleTokens(charges, await deps.chat(request, reply, keyOf(request), anthropic));
        return reply;
      });
    }

    if (deps.embeddings) {
      const embeddings = deps.embeddings;
      gw.post("/v1/embeddings", { config: access, schema: { hide: true } }, async (request, reply) => {
        await checkTokens(request, reply, keyOf(request));
        request.gatewayHandled = true;
        return embeddings(request, reply, keyOf(request));
      });
    }

    gw.get("/v1/models", { config: access, schema: { hide: true } }, async (request) => deps.models(keyOf(request)));
  }, { logLevel });
}

function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const fe = err as { code?: string; statusCode?: number };
  if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new GatewayError(413, "request_too_large", "request_too_large", "The request body is larger than this gateway accepts.");
  if (fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new GatewayError(415, "invalid_request_error", "unsupported_media_type", "Send the body as application/json.");
  if (fe.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return invalidRequest("invalid_json", "The body is empty.");
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) return invalidRequest("bad_request", (err as Error).message);
  return new GatewayError(500, "api_error", "internal_error", "Tollgate failed to handle this request; it was logged with the request id.");
}
