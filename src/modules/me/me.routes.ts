import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { actorOf } from "../../platform/auth/guard.js";
import { meResponse, updateMeBody } from "./me.schema.js";
import type { MeService } from "./me.service.js";

export function registerMeRoutes(app: FastifyInstance, deps: { me: MeService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["me"];

  r.get(
    "/api/v1/me",
    {
      config: { access: { kind: "user" } },
      schema: {
        tags,
        summary: "The signed-in user, their organizations and the active one",
        response: { 200: meResponse },
      },
    },
    async (req) => deps.me.me(actorOf(req)),
  );

  r.patch(
    "/api/v1/me",
    {
      config: { access: { kind: "user" } },
      schema: {
        tags,
        summary: "Update your name or switch the active organization",
        body: updateMeBody,
        response: { 200: meResponse },
      },
    },
    async (req) => deps.me.update(actorOf(req), req.body),
  );
}
