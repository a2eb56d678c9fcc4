import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { updateVirtualModelBody, virtualModelBody, virtualModelOut } from "./virtual-models.schema.js";
import type { VirtualModelService } from "./virtual-models.service.js";

export function registerVirtualModelRoutes(app: FastifyInstance, deps: { virtualModels: VirtualModelService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.virtualModels;
  const tags = ["virtual-models"];
  const base = "/api/v1/orgs/:org/virtual-models";
  const params = orgParams.extend({ name: z.string().min(1).max(100) });
  const read = { access: { kind: "org" as const, permission: ["virtualModel", "read"] as ["virtualModel", "read"] } };
  const manage = {
    access: { kind: "org" as const, permission: ["virtualModel", "manage"] as ["virtualModel", "manage"] },
  };

  r.get(
    base,
    {
      config: read,
      schema: {
        tags,
        summary: "List virtual models",
        params: orgParams,
        response: { 200: z.object({ virtualModels: z.array(virtualModelOut) }) },
      },
    },
    async (req) => ({ virtualModels: await svc.list(orgOf(req)) }),
  );
  r.post(
    base,
    {
      config: manage,
      schema: {
        tags,
        summary: "Create a virtual model: a name clients send as `model`, resolving to targets with a strategy",
        params: orgParams,
        body: virtualModelBody,
        response: { 201: virtualModelOut },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.create(orgOf(req), req.body)),
  );
  r.get(
    `${base}/:name`,
    { config: read, schema: { tags, summary: "Get a virtual model", params, response: { 200: virtualModelOut } } },
    async (req) => svc.get(orgOf(req), req.params.name),
  );
  r.patch(
    `${base}/:name`,
    {
      config: manage,
      schema: {
        tags,
        summary: "Update a virtual model",
        params,
        body: updateVirtualModelBody,
        response: { 200: virtualModelOut },
      },
    },
    async (req) => svc.update(orgOf(req), req.params.name, req.body),
  );
  r.delete(
    `${base}/:name`,
    { config: manage, schema: { tags, summary: "Delete a virtual model", params } },
    async (req, reply) => {
      await svc.remove(orgOf(req), req.params.name);
      return reply.status(204).send();
    },
  );
}
