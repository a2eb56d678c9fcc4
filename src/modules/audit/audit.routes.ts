import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { auditPage, auditQuery } from "./audit.schema.js";
import type { AuditService } from "./audit.service.js";

export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    "/api/v1/orgs/:org/audit-log",
    {
      config: { access: { kind: "org", permission: ["audit", "read"] } },
      schema: {
        tags: ["audit"],
        summary: "The organization's audit trail, newest first",
        description:
          "Cursor-paged (`nextCursor`), filtered by action, actor (person or token), target type and time; filters " +
          "and paging combine. Entries name the people and projects they mention as they are now. An unknown action " +
          "or target type is 400 VALIDATION_ERROR; `from` after `to` is 400 INVALID_RANGE.",
        params: orgParams,
        querystring: auditQuery,
        response: { 200: auditPage },
      },
    },
    async (req) => deps.audit.list(orgOf(req), req.query),
  );
}
