import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import {
  createOrgBody,
  deleteOrgBody,
  orgResponse,
  transferBody,
  twoFactorRequirementBody,
  updateOrgBody,
} from "./organizations.schema.js";
import type { OrganizationService } from "./organizations.service.js";

export function registerOrganizationRoutes(app: FastifyInstance, deps: { organizations: OrganizationService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.organizations;
  const tags = ["organizations"];

  r.get(
    "/api/v1/orgs",
    {
      config: { access: { kind: "user" } },
      schema: {
        tags,
        summary: "List my organizations",
        response: { 200: z.object({ organizations: z.array(orgResponse) }) },
      },
    },
    async (req) => ({ organizations: await svc.listMine(actorOf(req)) }),
  );

  r.post(
    "/api/v1/orgs",
    {
      config: { access: { kind: "user" } },
      schema: {
        tags,
        summary: "Create an organization (you become its owner)",
        body: createOrgBody,
        response: { 201: orgResponse },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.create(actorOf(req), req.body)),
  );

  r.get(
    "/api/v1/orgs/:org",
    {
      config: { access: { kind: "org", permission: ["org", "read"] } },
      schema: { tags, summary: "Get an organization", params: orgParams, response: { 200: orgResponse } },
    },
    async (req) => svc.get(orgOf(req)),
  );

  r.patch(
    "/api/v1/orgs/:org",
    {
      config: { access: { kind: "org", permission: ["org", "update"] } },
      schema: {
        tags,
        summary: "Update name, description or slug",
        params: orgParams,
        body: updateOrgBody,
        response: { 200: orgResponse },
      },
    },
    async (req) => svc.update(orgOf(req), req.body),
  );

  r.delete(
    "/api/v1/orgs/:org",
    {
      config: { access: { kind: "org", permission: ["org", "delete"] } },
      schema: {
        tags,
        summary: "Delete the organization with its projects, keys, logs and providers (owner; body repeats the slug)",
        params: orgParams,
        body: deleteOrgBody,
      },
    },
    async (req, reply) => {
      await svc.remove(orgOf(req), req.body.confirm);
      return reply.status(204).send();
    },
  );

  r.put(
    "/api/v1/orgs/:org/two-factor-requirement",
    {
      config: { access: { kind: "org", permission: ["org", "requireTwoFactor"] } },
      schema: {
        tags,
        summary: "Require two-factor authentication of every member, or stop requiring it (owner, who must have it)",
        params: orgParams,
        body: twoFactorRequirementBody,
        response: { 200: orgResponse },
      },
    },
    async (req) => svc.setTwoFactorRequirement(orgOf(req), req.body.required),
  );

  r.post(
    "/api/v1/orgs/:org/transfer",
    {
      config: { access: { kind: "org", permission: ["org", "transfer"] } },
      schema: {
        tags,
        summary: "Transfer ownership to an existing member (owner); you become an admin",
        params: orgParams,
        body: transferBody,
        response: {
          200: z.object({
            previousOwner: z.object({ userId: z.string(), role: z.literal("admin") }),
            newOwner: z.object({ userId: z.string(), role: z.literal("owner") }),
          }),
        },
      },
    },
    async (req) => svc.transfer(orgOf(req), req.body.userId),
  );
}
