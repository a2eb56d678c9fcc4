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
 *   → request-rate limits → the JSON (or multipart) body (415/413/400) → token-rate limits
 *   → the endpoint (endpoints/chat.ts, endpoints/embeddings.ts)
 *   → token limits corrected to the usage → the log record.
 *
 * The server hands requests over through `matches` + `handle`; the same paths
 * are also registered as Fastify routes that hand over the same way, so
 * Fastify's inject (tests) and the route list see them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { newTimeId } from "../platform/crypto.js";
import type { ProxyTrust } from "../platform/http.js";
import { answerError, type Caller, type CallRuntime, GatewayCall } from "./call.js";
import { serveChat } from "./endpoints/chat.js";
import { type CountTokensRuntime, countTokensSchema, serveCountTokens } from "./endpoints/count-tokens.js";
import { serveEmbeddings } from "./endpoints/embeddings.js";
import type { OneTargetRuntime } from "./endpoints/one-target.js";
import {
  anthropicErrorBody,
  GatewayError,
  modelNotFound,
  openaiErrorBody,
  shuttingDown,
  toGatewayError,
} from "./errors.js";
import { Exchange, type ExchangeLog } from "./exchange.js";
import { messagesSchema } from "./inbound/anthropic-schema.js";
import { chatCompletionsSchema, embeddingsSchema } from "./inbound/openai-schema.js";
import { openapiPaths } from "./openapi.js";
import type { InboundFormat } from "./inbound/format.js";
import { createCallLimits, type TokenCharges } from "./ratelimit/call-limits.js";
import type { RateLimitStore } from "./ratelimit/ratelimit.js";
import type { Endpoint } from "./request-log.js";
import { pathOf, type Route, type RouteMatch, RouteTable } from "./front-routes.js";
import { type BodyRules, clientIp, rawKey, readJson, readMultipart } from "./request-input.js";
import { traceCall } from "./trace.js";

export type VerifyFailure = "malformed" | "unknown" | "revoked" | "expired";

export interface FrontDeps extends BodyRules {
  verify(raw: string): Promise<{ ok: true; ctx: Caller } | { ok: false; reason: VerifyFailure }>;
  rateLimits: RateLimitStore;
  /** Ceiling for test keys' request rate (test keys have lower limits). */
  testKeyRpm: number;
  inbound: { openai: InboundFormat; anthropic?: InboundFormat };
  /** What every call shares (hooks, the log sink, the shutdown) and what the endpoints use. */
  runtime: CallRuntime & OneTargetRuntime;
  models(caller: Caller): Promise<unknown>;
  /** One model as `models` lists it, or null when that list would not show it. */
  model(caller: Caller, id: string): Promise<unknown | null>;
  /** A request refused without a valid API key (no project, so no log record): for metrics. */
  refusedWithoutKey?(endpoint: Endpoint | "other", error: GatewayError): void;
  log: ExchangeLog;
  /** More routes (Responses API, token counting, images, audio, moderations). */
  routes?: Route[];
  /** The counting of /v1/messages/count_tokens (offered with the Anthropic inbound format). */
  countTokens?: CountTokensRuntime;
  /** Trusted reverse proxies for the client IP (TOLLGATE_TRUST_PROXY, the rule Fastify uses too). */
  trustProxy: ProxyTrust;
}

export interface GatewayFront {
  /** True for every /v1/ path: the server hands the request to `handle` (unknown paths answer 404 there). */
  matches(method: string | undefined, url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * A call made for a signed-in person (the dashboard's playground): the request as it came, to the
   * gateway's `path`, with their playground key in place of any key it carried.
   */
  handleAs(req: IncomingMessage, res: ServerResponse, path: string, key: string): void;
  /** The server is closing: new requests get 503 `server_shutting_down` and `Connection: close`. */
  close(): void;
  /** The same paths as one Fastify route (inject), handed over before the body is read. */
  register(app: FastifyInstance): void;
  /** Every route of the table (method, path, doc). */
  routes(): Route[];
  /** The OpenAPI path items of every route (the management API's document lists them). */
  openapiPaths(): Record<string, Record<string, unknown>>;
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

export function createGatewayFront(deps: FrontDeps): GatewayFront {
  const rt = deps.runtime;
  const limits = createCallLimits(deps.rateLimits, deps.testKeyRpm);
  const ipOf = clientIp(deps.trustProxy);
  const openai = deps.inbound.openai;
  const table = new RouteTable()
    .add({
      kind: "call",
      method: "POST",
      path: "/v1/chat/completions",
      doc: {
        summary: "Create a chat completion (streaming, tools, JSON mode) with any provider",
        tag: "OpenAI API",
        body: chatCompletionsSchema,
      },
      endpoint: "chat",
      errorBody: openai.errorBody,
      serve: (c) => serveChat(c, openai, rt),
    })
    .add({
      kind: "plain",
      method: "GET",
      path: "/v1/models",
      doc: { summary: "List the models this key's project may use, with their billed prices", tag: "OpenAI API" },
      errorBody: openaiErrorBody,
      answer: async (x, caller) => x.sendJson(200, await deps.models(caller)),
    })
    .add({
      kind: "plain",
      method: "GET",
      path: "/v1/models/{id*}",
      doc: { summary: "Get one model this key's project may use, with its billed price", tag: "OpenAI API" },
      errorBody: openaiErrorBody,
      async answer(x, caller, id) {
        const found = await deps.model(caller, id!);
        if (!found) throw modelNotFound(id!);
        x.sendJson(200, found);
      },
    })
    .add({
      kind: "call",
      method: "POST",
      path: "/v1/embeddings",
      doc: { summary: "Create embeddings", tag: "OpenAI API", body: embeddingsSchema },
      endpoint: "embeddings",
      errorBody: openaiErrorBody,
      serve: (c) => serveEmbeddings(c, rt),
    });
  const anthropic = deps.inbound.anthropic;
  if (anthropic)
    table.add({
      kind: "call",
      method: "POST",
      path: "/v1/messages",
      doc: {
        summary: "Create a message (Anthropic Messages API) with any provider",
        tag: "Anthropic API",
        body: messagesSchema,
      },
      endpoint: "messages",
      errorBody: anthropicErrorBody,
      serve: (c) => serveChat(c, anthropic, rt),
    });
  const counting = deps.countTokens;
  if (anthropic && counting)
    table.add({
      kind: "plain",
      method: "POST",
      path: "/v1/messages/count_tokens",
      doc: {
        summary: "Count a message's input tokens (Anthropic's token counting) with any provider; free",
        tag: "Anthropic API",
        body: countTokensSchema,
      },
      errorBody: anthropicErrorBody,
      body: true,
      answer: (x, caller) => serveCountTokens(x, caller, counting),
    });
  for (const route of deps.routes ?? []) table.add(route);
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

  async function serve(x: Exchange, route: Route, id: string | null): Promise<void> {
    let caller: Caller;
    try {
      caller = await authenticate(x);
      if (route.kind === "plain") {
        // A plain route with a body does work per request (free, not unlimited): the request-rate limits first.
        if (route.body) {
          await limits.requests(x, caller);
          await readJson(x, deps);
        }
        return await route.answer(x, caller, id);
      }
    } catch (err) {
      const e = toGatewayError(err);
      if (e.code === "internal_error") x.log.error({ err, reqId: x.id }, "gateway error");
      if (route.kind === "call" || e.status === 401)
        deps.refusedWithoutKey?.(route.kind === "call" ? route.endpoint : "other", e);
      return answerError(x, e, route.errorBody(e, x.id));
    }
    const call = new GatewayCall(x, caller, route.endpoint, rt, route.errorBody);
    let charges: TokenCharges = [];
    const handle = async () => {
      try {
        await limits.requests(x, caller);
        await (route.body === "multipart" ? readMultipart : readJson)(x, deps);
        call.tookBody(x.body);
        charges = await limits.tokens(x, caller);
        await route.serve(call);
      } catch (err) {
        await call.fail(err);
      } finally {
        await call.finish();
      }
    };
    // In a server span when tracing is on (trace.ts), continuing the client's traceparent.
    await traceCall(x.req.headers, route.endpoint, handle, () => call.log);
    // After the answer and its record: a limiter that cannot be corrected now changes neither.
    if (charges.length > 0)
      await limits
        .settleTokens(charges, call.usage ?? null)
        .catch((err) => x.log.warn({ err, reqId: x.id }, "token rate limit could not be corrected to the usage"));
  }

  /** 404 for a path the gateway does not have, 405 (with `Allow`) for a known path and another method. */
  function refuseRoute(x: Exchange, m: Exclude<RouteMatch, { kind: "route" }>): void {
    const e =
      m.kind === "not_found"
        ? new GatewayError(
            "unknown_url",
            `Unknown request URL: ${x.req.method} ${x.path}. The gateway's endpoints are listed at /api/docs.`,
          )
        : new GatewayError("method_not_allowed", `${x.path} accepts ${m.allow.join(", ")}, not ${x.req.method}.`, {
            headers: { allow: m.allow.join(", ") },
          });
    deps.refusedWithoutKey?.("other", e);
    answerError(x, e, (x.path.startsWith("/v1/messages") && anthropic ? anthropicErrorBody : openaiErrorBody)(e, x.id));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url ?? "/");
    // Time-ordered: a request id is its log row's key (platform/crypto.ts).
    const x = new Exchange(newTimeId(), path, req, res, ipOf(req), deps.log);
    const m = table.match(req.method, path);
    if (m.kind !== "route") {
      refuseRoute(x, m);
      return;
    }
    const route = m.route;
    if (closing) {
      const e = shuttingDown(true);
      deps.refusedWithoutKey?.(route.kind === "call" ? route.endpoint : "other", e);
      answerError(x, e, route.errorBody(e, x.id));
      return;
    }
    serve(x, route, m.id).catch((err) => {
      x.log.error({ err, reqId: x.id }, "gateway request could not be finished");
      if (!res.writableEnded) res.destroy();
    });
  }

  return {
    matches(_method, url) {
      return url?.startsWith("/v1/") === true;
    },
    handle,
    handleAs(req, res, path, key) {
      req.url = path;
      delete req.headers["x-api-key"];
      req.headers.authorization = `Bearer ${key}`;
      handle(req, res);
    },
    routes: () => table.routes(),
    openapiPaths: () => openapiPaths(table.routes()),
    close() {
      closing = true;
    },
    register(app) {
      // Each route of the table (inject and the route list see them), then every other /v1/ path and method
      // (the front answers those 404/405 itself). All are handed over before the body is read.
      const hand = {
        schema: { hide: true },
        onRequest(request: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }, done: () => void) {
          reply.hijack();
          handle(request.raw, reply.raw);
          done();
        },
        handler: async () => undefined,
      };
      for (const route of table.routes())
        app.route({
          ...hand,
          method: route.method,
          url: route.path.replace("{id*}", "*").replace("{id}", ":id"),
          config: { access: { kind: "apiKey" } },
        });
      app.route({
        ...hand,
        method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        url: "/v1/*",
        config: { access: { kind: "public" } },
      });
    },
  };
}
