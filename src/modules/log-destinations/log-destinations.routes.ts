/** Log destination routes: thin (the service holds the rules); the signing secret leaves only in POST's 201. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import {
  createdDestinationOut,
  createDestinationBody,
  destinationOut,
  destinationParams,
  updateDestinationBody,
} from "./log-destinations.schema.js";
import type { LogDestinationService } from "./log-destinations.service.js";

export function registerLogDestinationRoutes(app: FastifyInstance, deps: { logDestinations: LogDestinationService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.logDestinations;
  const tags = ["log-destinations"];
  const read = {
    access: { kind: "org" as const, permission: ["logDestination", "read"] as ["logDestination", "read"] },
  };
  const manage = {
    access: { kind: "org" as const, permission: ["logDestination", "manage"] as ["logDestination", "manage"] },
  };
  const path = "/api/v1/orgs/:org/log-destinations";

  r.get(
    path,
    {
      config: read,
      schema: {
        tags,
        summary: "The organization's log destinations with their delivery status",
        params: orgParams,
        response: { 200: z.object({ destinations: z.array(destinationOut) }) },
      },
    },
    async (req) => svc.list(orgOf(req)),
  );

  r.post(
    path,
    {
      config: manage,
      schema: {
        tags,
        summary:
          "Stream the organization's request logs to a signed webhook; the response is the only time the signing secret is shown",
        params: orgParams,
        body: createDestinationBody,
        response: { 201: createdDestinationOut },
      },
    },
    async (req, reply) => {
      // The secret must not linger in any shared cache on its way to the client.
      reply.header("cache-control", "no-store");
      return reply.status(201).send(await svc.create(orgOf(req), req.body));
    },
  );

  r.get(
    `${path}/:id`,
    {
      config: read,
      schema: {
        tags,
        summary: "One log destination: delivered up to, backlog, dead letters, last error",
        params: destinationParams,
        response: { 200: destinationOut },
      },
    },
    async (req) => svc.get(orgOf(req), req.params.id),
  );

  r.patch(
    `${path}/:id`,
    {
      config: manage,
      schema: {
        tags,
        summary: "Pause or resume a log destination (resuming delivers what was logged meanwhile)",
        params: destinationParams,
        body: updateDestinationBody,
        response: { 200: destinationOut },
      },
    },
    async (req) => svc.update(orgOf(req), req.params.id, req.body),
  );

  r.delete(
    `${path}/:id`,
    {
      config: manage,
      schema: { tags, summary: "Delete a log destination: delivery stops", params: destinationParams },
    },
    async (req, reply) => {
      await svc.remove(orgOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
}
