/**
 * The gateway's HTTP surface: /v1/chat/completions, /v1/messages,
 * /v1/embeddings, /v1/models — answered on the bare Node.js request and
 * response, ahead of the management API's Fastify routing (every gateway call
 * pays for what it uses and nothing else). Cookies never authenticate here;
 * only project API keys. Errors have the OpenAI shape (Anthropic's on
 * /v1/messages).
 *
 * Order per request: key auth and request-rate limits before the body is read,
 * then the content type, the body limit (413 before buffering) and the parse
 * (400 before any work), then the token-rate limit, then the pipeline. A
 * request refused before the pipeline took it is reported to `refused` (the
 * pipeline logs everything after).
 *
 * Token limits are charged twice: an estimate from the body's byte size before
 * the call (so a flood of huge prompts is refused up front), then corrected to
 * the tokens actually used — input and output — once the answer is complete.
 *
 * The server hands requests over through `front.matches` + `front.handle`;
 * the same paths are also registered as Fastify routes that hand over the same
 * way, so Fastify's inject (tests) and the route list see them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import type { ProxyTrust } from "../platform/http.js";
import type { FastifyInstance } from "fastify";
import sjson from "secure-json-parse";
import { anthropicErrorBody, GatewayError, invalidRequest, openaiErrorBody } from "./errors.js";
import { Exchange, type ExchangeLog } from "./exchange.js";
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
  verify(
    raw: string,
  ): Promise<{ ok: true; ctx: K } | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired" }>;
  rateLimits: RateLimitStore;
  /** Ceiling for test keys' request rate (test keys have lower limits). */
  testKeyRpm: number;
  bodyLimit: number;
  /** Answers the request; resolves with the usage it consumed (null when nothing was generated). */
  chat(x: Exchange, key: K, inbound: InboundFormat): Promise<Usage | null>;
  inbound: { openai: InboundFormat; anthropic?: InboundFormat };
  /** Answers an embeddings request: the response body (errors are thrown, after the request was logged). */
  embeddings?(x: Exchange, key: K): Promise<unknown>;
  models(key: K): Promise<unknown>;
  /** JSON nesting depth / string checks on the parsed body; throws a GatewayError. */
  checkBody?(value: unknown): void;
  /**
   * A request refused before the pipeline took it (401, 429, 400/413/415 body errors): `key` is
   * the verified key, or null when there is none. Called once, before the error is sent; must not throw.
   */
  refused?(x: Exchange, key: K | null, error: GatewayError): void;
  log: ExchangeLog;
  /** Trusted reverse proxies for the client IP (TOLLGATE_TRUST_PROXY, the rule Fastify uses too). */
  trustProxy: ProxyTrust;
}

export interface GatewayFront {
  /** True for a gateway method + path: the server hands the request to `handle`. */
  matches(method: string | undefined, url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The server is closing: new requests get 503 `server_shutting_down` and `Connection: close`. */
  close(): void;
}

type RouteKind = "chat" | "messages" | "embeddings" | "models";

const KEY_FAILURES: Record<string, string> = {
  malformed: "The API key is malformed. Tollgate keys look like tg_live_… or tg_test_….",
  unknown: "The API key is not valid.",
  revoked: "The API key was revoked.",
  expired: "The API key has expired.",
};

const BEARER = /^bearer\s+/i;

function rawKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === "string" && BEARER.test(auth)) return auth.replace(BEARER, "").trim();
  const x = req.headers["x-api-key"];
  return typeof x === "string" ? x.trim() : undefined;
}

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
    429,
    "rate_limit_error",
    "rate_limit_exceeded",
    `Rate limit reached: ${d.limit} ${kind} per minute for this ${scope}. Retry after ${Math.ceil(d.retryAfterMs / 1000)} s.`,
    "gateway",
    headers,
  );
}

function tooLarge(): GatewayError {
  // The rest of the body is never read: the connection closes after the answer.
  return new GatewayError(
    413,
    "request_too_large",
    "request_too_large",
    "The request body is larger than this gateway accepts.",
    "gateway",
    { connection: "close" },
  );
}

/** The body, refused past `limit` bytes (by Content-Length before reading, else while reading). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(
        new GatewayError(
          499,
          "api_error",
          "client_closed_request",
          "The client closed the request before sending its body.",
        ),
      );
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "application/json";
}

function clientIp(trust: ProxyTrust): (req: IncomingMessage) => string {
  if (trust === false) return (req) => req.socket.remoteAddress ?? "";
  return (req) => {
    const addrs = proxyAddr.all(req, trust);
    return addrs[addrs.length - 1] ?? "";
  };
}

export function createGatewayFront<K extends VerifiedKey>(
  deps: GatewayRouteDeps<K>,
): GatewayFront & { register(app: FastifyInstance): void } {
  const routes = new Map<string, { method: "GET" | "POST"; kind: RouteKind }>([
    ["/v1/chat/completions", { method: "POST", kind: "chat" }],
    ["/v1/models", { method: "GET", kind: "models" }],
  ]);
  if (deps.inbound.anthropic) routes.set("/v1/messages", { method: "POST", kind: "messages" });
  if (deps.embeddings) routes.set("/v1/embeddings", { method: "POST", kind: "embeddings" });
  const ipOf = clientIp(deps.trustProxy);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let closing = false;

  const pathOf = (url: string) => {
    const q = url.indexOf("?");
    return q === -1 ? url : url.slice(0, q);
  };

  /** Reads, decodes, parses and checks the JSON body (415/413/400 before any work). */
  async function readJson(x: Exchange): Promise<void> {
    const type = x.req.headers["content-type"];
    if (type === undefined || !isJson(type)) {
      const empty =
        x.req.headers["transfer-encoding"] === undefined && (x.req.headers["content-length"] ?? "0") === "0";
      if (type === undefined && empty) return; // no body at all: the endpoint says what is missing
      throw new GatewayError(
        415,
        "invalid_request_error",
        "unsupported_media_type",
        "Send the body as application/json.",
      );
    }
    const buf = await readBody(x.req, deps.bodyLimit);
    x.bodyBytes = buf.length;
    if (buf.length === 0) throw invalidRequest("invalid_json", "The body is empty.");
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      throw invalidRequest("invalid_utf8", "The body is not valid UTF-8.");
    }
    let value: unknown;
    try {
      value = sjson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
    } catch {
      throw invalidRequest(
        "invalid_json",
        "The body is not valid JSON (or uses the reserved keys __proto__/constructor).",
      );
    }
    deps.checkBody?.(value);
    x.body = value;
    x.bodyText = text;
  }

  type TokenCharge = Array<{ name: string; limit: number; charged: number }>;

  /** Request-rate limits (project, then key): before the body is read. */
  async function checkRequests(x: Exchange, key: K): Promise<void> {
    const keyRpm =
      key.environment === "test"
        ? Math.min(key.keyRateLimit.rpm ?? deps.testKeyRpm, deps.testKeyRpm)
        : key.keyRateLimit.rpm;
    if (key.rateLimit.rpm) {
      const d = await deps.rateLimits.hit(`rpm:p:${key.projectId}`, 1, { limit: key.rateLimit.rpm, windowMs: MINUTE });
      if (!d.allowed) throw rateLimited("requests", "project", d);
      setLimitHeaders(x.headers, "requests", d);
    }
    if (keyRpm) {
      const d = await deps.rateLimits.hit(`rpm:k:${key.keyId}`, 1, { limit: keyRpm, windowMs: MINUTE });
      if (!d.allowed) throw rateLimited("requests", "key", d);
      setLimitHeaders(x.headers, "requests", d);
    }
  }

  /** Token-rate limits, checked against the body's rough size before any upstream call; returns what was charged. */
  async function checkTokens(x: Exchange, key: K): Promise<TokenCharge> {
    const estimate = Math.ceil(x.bodyBytes / 4) || 1;
    const charges: TokenCharge = [];
    for (const [name, limit, scope] of [
      [`tpm:p:${key.projectId}`, key.rateLimit.tpm, "project"],
      [`tpm:k:${key.keyId}`, key.keyRateLimit.tpm, "key"],
    ] as const) {
      if (!limit) continue;
      const charged = Math.min(estimate, limit);
      const d = await deps.rateLimits.hit(name, charged, { limit, windowMs: MINUTE });
      if (!d.allowed) throw rateLimited("tokens", scope, d);
      setLimitHeaders(x.headers, "tokens", d);
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

  async function serve(x: Exchange, kind: RouteKind): Promise<void> {
    const raw = rawKey(x.req);
    if (!raw) {
      throw new GatewayError(
        401,
        "authentication_error",
        "missing_api_key",
        "Send your project API key as `Authorization: Bearer <key>` or `x-api-key: <key>`.",
      );
    }
    const v = await deps.verify(raw);
    if (!v.ok)
      throw new GatewayError(
        401,
        "authentication_error",
        v.reason === "revoked" || v.reason === "expired" ? `key_${v.reason}` : "invalid_api_key",
        KEY_FAILURES[v.reason]!,
      );
    const key = v.ctx;
    x.key = key;
    if (kind === "models") return x.sendJson(200, await deps.models(key));
    await checkRequests(x, key);
    await readJson(x);
    const charges = await checkTokens(x, key);
    x.handled = true;
    if (kind === "embeddings") return x.sendJson(200, await deps.embeddings!(x, key));
    const inbound = kind === "messages" ? deps.inbound.anthropic! : deps.inbound.openai;
    await settleTokens(charges, await deps.chat(x, key, inbound));
  }

  function fail(x: Exchange, err: unknown): void {
    const e = toGatewayError(err);
    if (e.status >= 500) x.log.error({ err, reqId: x.id }, "gateway error");
    if (!x.handled && deps.refused) {
      try {
        deps.refused(x, (x.key as K | null) ?? null, e);
      } catch (logErr) {
        x.log.warn({ err: logErr, reqId: x.id }, "refused request could not be recorded");
      }
    }
    if (x.res.headersSent || x.res.destroyed) {
      // Answered already (or the client left): nothing more can be said on this response.
      if (!x.res.writableEnded) x.res.destroy();
      return;
    }
    x.headers["x-tollgate-error-source"] = e.source;
    Object.assign(x.headers, e.headers);
    x.sendJson(e.status, x.path === "/v1/messages" ? anthropicErrorBody(e, x.id) : openaiErrorBody(e, x.id));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url ?? "/");
    const route = routes.get(path)!;
    const x = new Exchange(crypto.randomUUID(), path, req, res, ipOf(req), deps.log);
    if (closing)
      return fail(
        x,
        new GatewayError(
          503,
          "api_error",
          "server_shutting_down",
          "Tollgate is restarting; retry this request.",
          "gateway",
          { "retry-after": "1", connection: "close" },
        ),
      );
    serve(x, route.kind).catch((err) => fail(x, err));
  }

  return {
    matches(method, url) {
      if (!url?.startsWith("/v1/")) return false;
      return routes.get(pathOf(url))?.method === method;
    },
    handle,
    close() {
      closing = true;
    },
    register(app) {
      // The same requests through Fastify (inject, and the route list): handed over before the body is read.
      for (const [url, route] of routes) {
        app.route({
          method: route.method,
          url,
          config: { access: { kind: "apiKey" } },
          schema: { hide: true },
          onRequest(request, reply, done) {
            reply.hijack();
            handle(request.raw, reply.raw);
            done();
          },
          handler: async () => undefined,
        });
      }
    },
  };
}

function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(
    500,
    "api_error",
    "internal_error",
    "Tollgate failed to handle this request; it was logged with the request id.",
  );
}
