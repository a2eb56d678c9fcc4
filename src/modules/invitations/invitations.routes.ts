import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, orgOf } from "../../platform/auth/guard.js";
import { ASSIGNABLE_ROLES } from "../../platform/permissions.js";
import { orgParams } from "../../platform/routes.js";
import {
  createInvitationBody,
  INVITATION_STATUSES,
  invitationPreview,
  invitationResponse,
} from "./invitations.schema.js";
import type { InvitationService } from "./invitations.service.js";

export function registerInvitationRoutes(app: FastifyInstance, deps: { invitations: InvitationService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.invitations;
  const tags = ["invitations"];
  const idParams = orgParams.extend({ id: z.uuid() });
  const tokenParams = z.object({ token: z.string().min(20).max(200) });

  r.get(
    "/api/v1/orgs/:org/invitations",
    {
      config: { access: { kind: "org", permission: ["invitation", "read"] } },
      schema: {
        tags,
        summary: "List invitations (default: pending)",
        params: orgParams,
        querystring: z.strictObject({ status: z.enum([...INVITATION_STATUSES, "all"]).default("pending") }),
        response: { 200: z.object({ invitations: z.array(invitationResponse) }) },
      },
    },
    async (req) => ({
      invitations: await svc.list(orgOf(req), req.query.status === "all" ? undefined : req.query.status),
    }),
  );

  r.post(
    "/api/v1/orgs/:org/invitations",
    {
      config: { access: { kind: "org", permission: ["invitation", "create"] } },
      schema: {
        tags,
        summary: "Invite someone by email as admin or member; emails them a link",
        params: orgParams,
        body: createInvitationBody,
        response: { 201: invitationResponse },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.create(orgOf(req), req.body)),
  );

  r.delete(
    "/api/v1/orgs/:org/invitations/:id",
    {
      config: { access: { kind: "org", permission: ["invitation", "revoke"] } },
      schema: { tags, summary: "Revoke a pending invitation", params: idParams },
    },
    async (req, reply) => {
      await svc.revoke(orgOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  r.post(
    "/api/v1/orgs/:org/invitations/:id/resend",
    {
      config: { access: { kind: "org", permission: ["invitation", "resend"] } },
      schema: {
        tags,
        summary: "Send the invitation again with a new link (the old one stops working)",
        params: idParams,
        response: { 200: invitationResponse },
      },
    },
    async (req) => svc.resend(orgOf(req), req.params.id),
  );

  r.get(
    "/api/v1/invitations/:token",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags,
        summary: "Preview an invitation: organization, inviter, role",
        params: tokenParams,
        response: { 200: invitationPreview },
      },
    },
    async (req) => svc.preview(req.params.token),
  );

  r.post(
    "/api/v1/invitations/:token/accept",
    {
      config: { access: { kind: "user" } },
      schema: {
        tags,
        summary: "Accept an invitation (signed in with the invited email)",
        params: tokenParams,
        response: {
          200: z.object({
            organization: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
            role: z.enum(ASSIGNABLE_ROLES),
          }),
        },
      },
    },
    async (req) => svc.accept(actorOf(req), req.params.token),
  );

  r.post(
    "/api/v1/invitations/:token/decline",
    {
      config: { access: { kind: "user" } },
      schema: { tags, summary: "Decline an invitation", params: tokenParams },
    },
    async (req, reply) => {
      await svc.decline(actorOf(req), req.params.token);
      return reply.status(204).send();
    },
  );
}
