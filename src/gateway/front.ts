/**
 * The gateway's HTTP surface: /v1/chat/completions, /v1/messages,
 * /v1/embeddings, /v1/models — answered on the bare Node.js request and
 * response, ahead of the management API's Fastify routing (every gateway call
 * pays for what it uses and nothing else). Only project API keys
 * authenticate here, never cookies. Errors have the OpenAI shape (Anthropic's
 * on /v1/messages).
 *
 * One request, top to bottom:
 *   key check (401: counted, no log record: there is no project to show it to)
 *   → a GatewayCall for the verified caller (call.ts: from here on the call
 *     keeps one log record, whatever happens)
 *   → request-rate limits → the JSON body (415/413/400) → token-rate limits
 *   → the endpoint (endpoints/chat.ts, endpoints/embeddings.ts)
 *   → token limits corrected to the usage → the log record.
 *
 * The server hands requests over through `matches` + `handle`; the same paths
 * are also registered as Fastify routes that hand over the same way, so
 * Fastify's inject (tests) and the route list see them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { ProxyTrust } from "../platform/http.js";
import { answerError, type Caller, type CallRuntime, GatewayCall } from "./call.js";
import { type EndpointRuntime, serveChat } from "./endpoints/chat.js";
import { serveEmbeddings } from "./endpoints/embeddings.js";
import { anthropicErrorBody, GatewayError, openaiErrorBody, shuttingDown, toGatewayError } from "./errors.js";
import { Exchange, type ExchangeLog } from "./exchange.js";
import type { InboundFormat } from "./inbound/format.js";
import { createCallLimits, type TokenCharges } from "./ratelimit/call-limits.js";
import type { RateLimitStore } from "./ratelimit/ratelimit.js";
import type { Endpoint } from "./request-log.js";
import { type BodyRules, clientIp, rawKey, readJson } from "./request-input.js";

export type VerifyFailure = "malformed" | "unknown" | "revoked" | "expired";

export interface FrontDeps extends BodyRules {
  verify(raw: string): Promise<{ ok: true; ctx: Caller } | { ok: false; reason: VerifyFailure }>;
  rateLimits: RateLimitStore;
  /** Ceiling for test keys' request rate (test keys have lower limits). */
  testKeyRpm: number;
  inbound: { openai: InboundFormat; anthropic?: InboundFormat };
  /** What every call shares (hooks, the log sink, the shutdown) and what the endpoints use. */
  runtime: CallRuntime & EndpointRuntime & { embeds(format: string): boolean };
  models(caller: Caller): Promise<unknown>;
  /** A request refused without a valid API key (no project, so no log record): for metrics. */
  refusedWithoutKey?(endpoint: Endpoint | "other", error: GatewayError): void;
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
  /** The same paths as Fastify routes (inject, and the route list), handed over before the body is read. */
  register(app: FastifyInstance): void;
}

interface Route {
  method: "GET" | "POST";
  endpoint: Endpoint | null;
  /** The error shape of this path. */
  errorBody(e: GatewayError, requestId: string): unknown;
  serve(call: GatewayCall): Promise<void>;
}

const KEY_FAILURES: Record<
  VerifyFailure,
  { code: "invalid_api_key" | "key_revoked" | "key_expired"; message?: string }
> = {
  malformed: {
    code: "invalid_api_key",
    message: "The API key is malformed. Tollgate keys look like tg_live_… or tg_test_….",
  },
  unknown: { code: "invalid_api_key", message: "The API key is not valid." },
  revoked: { code: "key_revoked" },
  expired: { code: "key_expired" },
};

const pathOf = (url: string) => {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
};

export function createGatewayFront(deps: FrontDeps): GatewayFront {
  const rt = deps.runtime;
  const limits = createCallLimits(deps.rateLimits, deps.testKeyRpm);
  const ipOf = clientIp(deps.trustProxy);
  const openai = deps.inbound.openai;
  const routes = new Map<string, Route>([
    [
      "/v1/chat/completions",
      { method: "POST", endpoint: "chat", errorBody: openai.errorBody, serve: (c) => serveChat(c, openai, rt) },
    ],
    ["/v1/models", { method: "GET", endpoint: null, errorBody: openaiErrorBody, serve: async () => undefined }],
  ]);
  const anthropic = deps.inbound.anthropic;
  if (anthropic)
    routes.set("/v1/messages", {
      method: "POST",
      endpoint: "messages",
      errorBody: anthropicErrorBody,
      serve: (c) => serveChat(c, anthropic, rt),
    });
  routes.set("/v1/embeddings", {
    method: "POST",
    endpoint: "embeddings",
    errorBody: openaiErrorBody,
    serve: (c) => serveEmbeddings(c, rt),
  });
  let closing = false;

  async function authenticate(x: Exchange): Promise<Caller> {
    const raw = rawKey(x.req);
    if (!raw) throw new GatewayError("missing_api_key");
    const v = await deps.verify(raw);
    if (!v.ok) {
      const f = KEY_FAILURES[v.reason];
      throw new GatewayError(f.code, f.message);
    }
    return v.ctx;
  }

  async function serve(x: Exchange, route: Route): Promise<void> {
    let caller: Caller;
    try {
      caller = await authenticate(x);
      if (route.endpoint === null) return x.sendJson(200, await deps.models(caller));
    } catch (err) {
      const e = toGatewayError(err);
      if (e.code === "internal_error") x.log.error({ err, reqId: x.id }, "gateway error");
      if (route.endpoint !== null || e.status === 401) deps.refusedWithoutKey?.(route.endpoint ?? "other", e);
      return answerError(x, e, route.errorBody(e, x.id));
    }
    const call = new GatewayCall(x, caller, route.endpoint, rt, route.errorBody);
    let charges: TokenCharges = [];
    try {
      await limits.requests(x, caller);
      await readJson(x, deps);
      call.tookBody(x.body);
      charges = await limits.tokens(x, caller);
      await route.serve(call);
    } catch (err) {
      await call.fail(err);
    } finally {
      await call.finish();
    }
    // After the answer and its record: a limiter that cannot be corrected now changes neither.
    if (charges.length > 0)
      await limits
        .settleTokens(charges, call.usage ?? null)
        .catch((err) => x.log.warn({ err, reqId: x.id }, "token rate limit could not be corrected to the usage"));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url ?? "/");
    const route = routes.get(path)!;
    const x = new Exchange(crypto.randomUUID(), path, req, res, ipOf(req), deps.log);
    if (closing) {
      const e = shuttingDown(true);
      deps.refusedWithoutKey?.(route.endpoint ?? "other", e);
      answerError(x, e, route.errorBody(e, x.id));
      return;
    }
    serve(x, route).catch((err) => {
      x.log.error({ err, reqId: x.id }, "gateway request could not be finished");
      if (!res.writableEnded) res.destroy();
    });
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
