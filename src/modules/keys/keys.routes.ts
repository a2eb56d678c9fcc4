/** API key routes (under a project): thin; revocation is DELETE (204), the row stays for the record. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { projectAccessHook, projectParams } from "../projects/projects.routes.js";
import type { ProjectService } from "../projects/projects.service.js";
import { createdKeyResponse, createKeyBody, keyResponse, updateKeyBody } from "./keys.schema.js";
import type { KeyService } from "./keys.service.js";

export function registerKeyRoutes(
  app: FastifyInstance,
  deps: { keys: KeyService; projects: Pick<ProjectService, "assertReachable"> },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.keys;
  const tags = ["keys"];
  const keyParams = projectParams.extend({ keyId: z.uuid() });
  const reachable = projectAccessHook(deps.projects);

  r.get(
    "/api/v1/orgs/:org/projects/:project/keys",
    {
      config: { access: { kind: "org", permission: ["key", "read"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary: "List the project's API keys (hints only, never the key)",
        params: projectParams,
        response: { 200: z.object({ keys: z.array(keyResponse) }) },
      },
    },
    async (req) => ({ keys: await svc.list(orgOf(req), req.params.project) }),
  );

  r.post(
    "/api/v1/orgs/:org/projects/:project/keys",
    {
      config: { access: { kind: "org", permission: ["key", "create"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary: "Create an API key; the response is the only time the full key is shown",
        params: projectParams,
        body: createKeyBody,
        response: { 201: createdKeyResponse },
      },
    },
    async (req, reply) => {
      // The full key must not linger in any shared cache on its way to the client.
      reply.header("cache-control", "no-store");
      return reply.status(201).send(await svc.create(orgOf(req), req.params.project, req.body));
    },
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project/keys/:keyId",
    {
      config: { access: { kind: "org", permission: ["key", "read"] } },
      preValidation: reachable,
      schema: { tags, summary: "Get one API key's metadata", params: keyParams, response: { 200: keyResponse } },
    },
    async (req) => svc.get(orgOf(req), req.params.project, req.params.keyId),
  );

  r.patch(
    "/api/v1/orgs/:org/projects/:project/keys/:keyId",
    {
      config: { access: { kind: "org", permission: ["key", "revokeOwn"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary:
          "Rename a key or change its own allowed models and limits (members: their own keys; owners and admins: any). Effective in the gateway at once",
        params: keyParams,
        body: updateKeyBody,
        response: { 200: keyResponse },
      },
    },
    async (req) => svc.update(orgOf(req), req.params.project, req.params.keyId, req.body),
  );

  r.delete(
    "/api/v1/orgs/:org/projects/:project/keys/:keyId",
    {
      config: { access: { kind: "org", permission: ["key", "revokeOwn"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary:
          "Revoke an API key (members: their own; owners and admins: any). Effective in the gateway at once; the row stays for the record",
        params: keyParams,
      },
    },
    async (req, reply) => {
      await svc.revoke(orgOf(req), req.params.project, req.params.keyId);
      return reply.status(204).send();
    },
  );
}
