import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { dismissBody, onboardingOut } from "./onboarding.schema.js";
import type { OnboardingService } from "./onboarding.service.js";

export function registerOnboardingRoutes(app: FastifyInstance, deps: { onboarding: OnboardingService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.onboarding;
  const tags = ["onboarding"];
  const everyone = { access: { kind: "org" as const, permission: ["org", "read"] as ["org", "read"] } };

  r.get(
    "/api/v1/orgs/:org/onboarding",
    {
      config: everyone,
      schema: {
        tags,
        summary:
          "The first-run checklist: each step ticked from the organization's real state, with whether the caller may do it and where",
        params: orgParams,
        response: { 200: onboardingOut },
      },
    },
    async (req) => svc.get(orgOf(req)),
  );

  r.post(
    "/api/v1/orgs/:org/onboarding/dismiss",
    {
      config: { access: { kind: "org", permission: ["onboarding", "dismiss"] } },
      schema: {
        tags,
        summary: "Hide the checklist for the caller in this organization (a person's choice; not for API tokens)",
        params: orgParams,
        body: dismissBody,
      },
    },
    async (req, reply) => {
      await svc.dismiss(orgOf(req));
      return reply.status(204).send();
    },
  );
}
