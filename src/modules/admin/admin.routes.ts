/**
 * The operator console's routes, `/api/v1/admin/...`, for instance operators
 * only (everyone else gets 404), plus the one org route its members use to see
 * whether (and why) their organization is disabled.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { adminOrgsOut, creditsBody, creditsOut, disableBody, healthOut, orgStatusOut } from "./admin.schema.js";
import type { AdminService } from "./admin.service.js";

const operator = { access: { kind: "operator" as const } };
const tags = ["admin"];

export function registerAdminRoutes(app: FastifyInstance, deps: { admin: AdminService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.admin;

  r.get(
    "/api/v1/admin/orgs",
    {
      config: operator,
      schema: {
        tags,
        summary: "Every organization with its balance, this month's usage, member count and disabled state",
        querystring: z.strictObject({
          q: z.string().trim().max(100).optional().describe("Part of the slug or name."),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
        response: { 200: adminOrgsOut },
      },
    },
    async (req) => svc.listOrganizations({ search: req.query.q || undefined, limit: req.query.limit }),
  );

  r.post(
    "/api/v1/admin/orgs/:org/credits",
    {
      config: operator,
      schema: {
        tags,
        summary: "Grant or deduct credits with a note (a ledger entry and an audit row)",
        params: orgParams,
        body: creditsBody,
        response: { 201: creditsOut },
      },
    },
    async (req, reply) => {
      const res = await svc.changeCredits(actorOf(req), req.params.org, {
        direction: req.body.direction,
        amountMicroUsd: req.body.amountUsd,
        note: req.body.note,
      });
      return reply.status(201).send(res);
    },
  );

  r.post(
    "/api/v1/admin/orgs/:org/disable",
    {
      config: operator,
      schema: {
        tags,
        summary: "Disable an organization: its API keys are refused; members can still sign in and read",
        params: orgParams,
        body: disableBody,
        response: { 200: orgStatusOut },
      },
    },
    async (req) => svc.disable(actorOf(req), req.params.org, req.body.reason),
  );

  r.post(
    "/api/v1/admin/orgs/:org/enable",
    {
      config: operator,
      schema: {
        tags,
        summary: "Enable a disabled organization again",
        params: orgParams,
        body: z.strictObject({}),
        response: { 200: orgStatusOut },
      },
    },
    async (req) => svc.enable(actorOf(req), req.params.org),
  );

  r.get(
    "/api/v1/admin/health",
    {
      config: operator,
      schema: { tags, summary: "Instance health: database, Redis, version, uptime", response: { 200: healthOut } },
    },
    async () => svc.health(),
  );

  r.get(
    "/api/v1/orgs/:org/status",
    {
      config: { access: { kind: "org", permission: ["org", "read"] } },
      schema: {
        tags: ["organizations"],
        summary: "Whether the instance operator disabled this organization, when and why",
        params: orgParams,
        response: { 200: orgStatusOut },
      },
    },
    async (req) => svc.status(orgOf(req).orgId),
  );
}
