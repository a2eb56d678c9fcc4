/**
 * The HTTP server and its plumbing: one Node.js server whose gateway paths go
 * to the gateway's front before Fastify sees them (the front is asked per
 * request: it exists once the app is assembled), Fastify for everything else
 * with zod validation, request ids, the one error mapper, JSON-only bodies,
 * the route list (with each route's declared access) and the OpenAPI document.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { notFound } from "./errors.js";
import { proxyTrust, type RouteAccess, sendError } from "./http.js";

/** The running version (health answers, traces). */
export const VERSION = "0.1.0";

export interface RouteInfo {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

/** Requests answered ahead of Fastify (the gateway's front). */
export interface BareHandler {
  matches(method: string | undefined, url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** OpenAPI path items of these requests, added to the document (authenticated with the `apiKey` scheme). */
  openapiPaths?(): Record<string, Record<string, unknown>>;
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "options", "head"]);

/** Every operation under /api/v1/orgs/{org}/ takes a session cookie or an organization API token. */
function withOrgTokenSecurity<D extends { paths?: Record<string, unknown> }>(doc: D): D {
  const paths: Record<string, unknown> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!path.startsWith("/api/v1/orgs/{org}") || !item || typeof item !== "object") {
      paths[path] = item;
      continue;
    }
    const ops = Object.entries(item as Record<string, object>).map(([key, op]) =>
      HTTP_METHODS.has(key) ? [key, { ...op, security: [{ session: [] }, { orgToken: [] }] }] : [key, op],
    );
    paths[path] = Object.fromEntries(ops);
  }
  return { ...doc, paths };
}

export async function createHttpServer(opts: {
  config: Config;
  logger: Logger;
  front(): BareHandler | null;
}): Promise<{ server: FastifyInstance; routes: RouteInfo[] }> {
  const server = Fastify({
    serverFactory: (handler, o) => {
      const http = createServer((req, res) => {
        const gateway = opts.front();
        if (gateway?.matches(req.method, req.url)) gateway.handle(req, res);
        else handler(req, res);
      });
      // What Fastify sets on a server it creates itself (its options, defaults applied).
      const t = o as unknown as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number };
      http.keepAliveTimeout = t.keepAliveTimeout;
      http.requestTimeout = t.requestTimeout;
      http.setTimeout(t.connectionTimeout);
      return http;
    },
    loggerInstance: opts.logger as FastifyBaseLogger,
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
    trustProxy: proxyTrust(opts.config.trustProxy),
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 256 },
    // Slow-loris protection: the whole request head and body must arrive in time.
    requestTimeout: 60_000,
  });
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is what a cross-site form can send without preflight.
  server.removeContentTypeParser("text/plain");
  server.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  server.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  server.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      notFound("ROUTE_NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}.`),
    ),
  );

  const routes: RouteInfo[] = [];
  server.addHook("onRoute", (route) => {
    // Plugin-owned routes (the API reference page) are public documentation.
    if (route.url.startsWith("/api/docs")) route.config = { ...(route.config ?? {}), access: { kind: "public" } };
    for (const method of ([] as string[]).concat(route.method)) {
      if (method !== "HEAD") routes.push({ method, url: route.url, access: route.config?.access });
    }
  });

  await server.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Tollgate API",
        version: VERSION,
        description:
          "Management API of Tollgate, the self-hostable AI gateway for teams. Cookie sessions come from /api/auth; " +
          "state-changing requests with a session cookie must send an Origin header equal to the server's public URL.",
      },
      servers: [{ url: opts.config.publicUrl }],
      components: {
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "tollgate.session_token" },
          apiKey: {
            type: "http",
            scheme: "bearer",
            description: "A project API key (tg_live_… or tg_test_…); `x-api-key: <key>` works too.",
          },
          orgToken: {
            type: "http",
            scheme: "bearer",
            description:
              "An organization API token (tg_org_…), on /api/v1/orgs/{org}/… routes of its own organization, with its role's permissions (never billing management or the danger zone). No Origin header needed.",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    // The gateway's /v1 routes are answered ahead of Fastify: the document lists them from their route table.
    transformObject: (doc) => {
      if (!("openapiObject" in doc)) return doc.swaggerObject;
      const paths = opts.front()?.openapiPaths?.();
      const out = paths ? { ...doc.openapiObject, paths: { ...doc.openapiObject.paths, ...paths } } : doc.openapiObject;
      return withOrgTokenSecurity(out);
    },
  });
  await server.register(swaggerUi, { routePrefix: "/api/docs" });

  return { server, routes };
}
