/**
 * Bridges an identity provider's SCIM requests to the auth library's SCIM
 * plugin (scim.ts), verbatim. Unlike the other auth routes (auth.routes.ts),
 * nothing is re-shaped: the body goes through as the identity provider sent
 * it (any content type: the plugin parses, validates and answers
 * `application/scim+json` itself, SCIM errors included), every method SCIM
 * uses is routed (GET, POST, PUT, PATCH, DELETE), and the plugin's status,
 * headers and body come back as they are. The client IP header is set from
 * Fastify's trusted view, as for every auth route. The plugin authenticates
 * (the organization's bearer token); the route itself is public.
 */
import type { FastifyInstance } from "fastify";
import type { Auth } from "./auth.js";
import { toAuthRequest } from "./auth-request.js";
import { SCIM_PATH } from "./scim.js";

/** Response headers not copied: Fastify sets its own framing. */
const FRAMING = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

export function registerScimBridge(app: FastifyInstance, deps: { auth: Auth; publicUrl: string }) {
  app.register(async (scope) => {
    // Bodies stay text here (this scope only): the plugin parses JSON, and answers a bad one in SCIM's format.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));

    scope.route({
      method: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      url: `${SCIM_PATH}/*`,
      config: { access: { kind: "public" } },
      schema: { hide: true },
      async handler(request, reply) {
        const body = typeof request.body === "string" && request.method !== "GET" ? { text: request.body } : undefined;
        const res = await deps.auth.handler(toAuthRequest(request, deps.publicUrl, body));
        reply.status(res.status);
        res.headers.forEach((value, name) => {
          if (!FRAMING.has(name)) reply.header(name, value);
        });
        return reply.send(await res.text());
      },
    });
  });
}
