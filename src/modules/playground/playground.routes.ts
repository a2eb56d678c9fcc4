/**
 * The playground's routes: the gateway's own endpoints for a signed-in person, under the project. The
 * request is handed to the gateway front as it came (Fastify leaves its body unread: the gateway reads
 * it with its own limits and checks), with the person's playground key; the answer — streamed or not,
 * errors in the gateway's shape — is the gateway's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { GatewayFront } from "../../gateway/front.js";
import { orgOf } from "../../platform/auth/guard.js";
import { projectAccessHook, projectParams } from "../projects/projects.routes.js";
import type { ProjectService } from "../projects/projects.service.js";
import type { PlaygroundService } from "./playground.service.js";

export function registerPlaygroundRoutes(
  app: FastifyInstance,
  deps: {
    playground: PlaygroundService;
    projects: Pick<ProjectService, "assertReachable">;
    /** The gateway front (built after the routes, before the server listens). */
    gatewayFront(): GatewayFront;
  },
) {
  const reachable = projectAccessHook(deps.projects);
  const access = { access: { kind: "org" as const, permission: ["playground", "use"] as ["playground", "use"] } };
  const tags = ["playground"];
  const handTo = (path: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const key = await deps.playground.keyFor(orgOf(req), (req.params as { project: string }).project);
    reply.hijack();
    deps.gatewayFront().handleAs(req.raw, reply.raw, path, key);
  };

  app.register(async (scope) => {
    // Bodies stay unread for the gateway.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null));
    const r = scope.withTypeProvider<ZodTypeProvider>();
    r.post(
      "/api/v1/orgs/:org/projects/:project/playground/chat/completions",
      {
        config: access,
        preValidation: reachable,
        schema: {
          tags,
          summary:
            "A chat completion from the dashboard's playground: the body and the answer (JSON, or a stream) are `POST /v1/chat/completions`'s, made with the caller's own playground key for the project (made on first use, listed with the project's keys), logged and billed like any call",
          params: projectParams,
        },
      },
      handTo("/v1/chat/completions"),
    );
    r.get(
      "/api/v1/orgs/:org/projects/:project/playground/models",
      {
        config: access,
        preValidation: reachable,
        schema: {
          tags,
          summary:
            "The models the playground may call in this project: `GET /v1/models` for the caller's playground key",
          params: projectParams,
        },
      },
      handTo("/v1/models"),
    );
  });
}
