/**
 * SCIM settings routes: thin. The token is shown once, in the 201 of
 * POST …/scim/token (never cached); DELETE disables (204, idempotent). The
 * SCIM protocol itself is served by the auth library (scim-protocol.routes.ts).
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { scimStatusResponse, scimTokenResponse } from "./scim-token.schema.js";
import type { ScimService } from "./scim.service.js";

export function registerScimRoutes(app: FastifyInstance, deps: { scim: ScimService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.scim;
  const tags = ["scim"];

  r.get(
    "/api/v1/orgs/:org/scim",
    {
      config: { access: { kind: "org", permission: ["scim", "read"] } },
      schema: {
        tags,
        summary: "Whether SCIM provisioning is enabled, the base URL for the identity provider, and the token's hint",
        params: orgParams,
        response: { 200: scimStatusResponse },
      },
    },
    async (req) => svc.status(orgOf(req)),
  );

  r.post(
    "/api/v1/orgs/:org/scim/token",
    {
      config: { access: { kind: "org", permission: ["scim", "manage"] } },
      schema: {
        tags,
        summary:
          "Enable SCIM with a new bearer token, or replace the token (the previous one stops working); the response is the only time the token is shown",
        params: orgParams,
        response: { 201: scimTokenResponse },
      },
    },
    async (req, reply) => {
      // The token must not linger in any shared cache on its way to the client.
      reply.header("cache-control", "no-store");
      return reply.status(201).send(await svc.rotateToken(orgOf(req)));
    },
  );

  r.delete(
    "/api/v1/orgs/:org/scim",
    {
      config: { access: { kind: "org", permission: ["scim", "manage"] } },
      schema: {
        tags,
        summary: "Disable SCIM: the token is refused from now on; people already provisioned stay members",
        params: orgParams,
      },
    },
    async (req, reply) => {
      await svc.disable(orgOf(req));
      return reply.status(204).send();
    },
  );
}
