/** Organization API token routes: thin; revocation is DELETE (204), the row stays for the record. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { createdTokenResponse, createTokenBody, tokenResponse } from "./api-tokens.schema.js";
import type { ApiTokenService } from "./api-tokens.service.js";

export function registerApiTokenRoutes(app: FastifyInstance, deps: { tokens: ApiTokenService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.tokens;
  const tags = ["api-tokens"];

  r.get(
    "/api/v1/orgs/:org/api-tokens",
    {
      config: { access: { kind: "org", permission: ["apiToken", "read"] } },
      schema: {
        tags,
        summary: "List the organization's API tokens (hints only, never the token)",
        params: orgParams,
        response: { 200: z.object({ tokens: z.array(tokenResponse) }) },
      },
    },
    async (req) => ({ tokens: await svc.list(orgOf(req)) }),
  );

  r.post(
    "/api/v1/orgs/:org/api-tokens",
    {
      config: { access: { kind: "org", permission: ["apiToken", "create"] } },
      schema: {
        tags,
        summary:
          "Mint an API token (owner: admin or member tokens; admins: member tokens); the response is the only time the token is shown",
        params: orgParams,
        body: createTokenBody,
        response: { 201: createdTokenResponse },
      },
    },
    async (req, reply) => {
      // The full token must not linger in any shared cache on its way to the client.
      reply.header("cache-control", "no-store");
      return reply.status(201).send(await svc.create(orgOf(req), req.body));
    },
  );

  r.delete(
    "/api/v1/orgs/:org/api-tokens/:tokenId",
    {
      config: { access: { kind: "org", permission: ["apiToken", "revoke"] } },
      schema: {
        tags,
        summary: "Revoke an API token: refused at once on every replica; the row stays for the record",
        params: orgParams.extend({ tokenId: z.uuid() }),
      },
    },
    async (req, reply) => {
      await svc.revoke(orgOf(req), req.params.tokenId);
      return reply.status(204).send();
    },
  );
}
