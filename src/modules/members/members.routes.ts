import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { changeRoleBody, memberResponse, removeMemberQuery } from "./members.schema.js";
import type { MemberService } from "./members.service.js";

export function registerMemberRoutes(app: FastifyInstance, deps: { members: MemberService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.members;
  const tags = ["members"];
  const memberParams = orgParams.extend({ userId: z.string().min(1).max(200) });

  r.get(
    "/api/v1/orgs/:org/members",
    {
      config: { access: { kind: "org", permission: ["member", "read"] } },
      schema: {
        tags,
        summary: "List members with their roles",
        params: orgParams,
        response: { 200: z.object({ members: z.array(memberResponse) }) },
      },
    },
    async (req) => ({ members: await svc.list(orgOf(req)) }),
  );

  r.patch(
    "/api/v1/orgs/:org/members/:userId",
    {
      config: { access: { kind: "org", permission: ["member", "changeRole"] } },
      schema: {
        tags,
        summary: "Change a member's role between admin and member (owner)",
        params: memberParams,
        body: changeRoleBody,
        response: { 200: memberResponse },
      },
    },
    async (req) => svc.changeRole(orgOf(req), req.params.userId, req.body.role),
  );

  r.delete(
    "/api/v1/orgs/:org/members/:userId",
    {
      config: { access: { kind: "org", permission: ["member", "remove"] } },
      schema: {
        tags,
        summary: "Remove a member (owner). Their API keys are revoked unless keepKeys=true",
        params: memberParams,
        querystring: removeMemberQuery,
      },
    },
    async (req, reply) => {
      await svc.remove(orgOf(req), req.params.userId, req.query.keepKeys === "true");
      return reply.status(204).send();
    },
  );

  r.post(
    "/api/v1/orgs/:org/leave",
    {
      config: { access: { kind: "org", permission: ["member", "leave"] } },
      schema: { tags, summary: "Leave the organization (not the owner)", params: orgParams },
    },
    async (req, reply) => {
      await svc.leave(orgOf(req));
      return reply.status(204).send();
    },
  );
}
