import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { createProviderBody, presetOut, providerOut, testResultOut, updateProviderBody } from "./providers.schema.js";
import type { ProviderService } from "./providers.service.js";

export function registerProviderRoutes(app: FastifyInstance, deps: { providers: ProviderService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.providers;
  const tags = ["providers"];
  const params = orgParams.extend({ provider: z.string().min(1).max(64) });
  const read = { access: { kind: "org" as const, permission: ["provider", "read"] as ["provider", "read"] } };
  const manage = { access: { kind: "org" as const, permission: ["provider", "manage"] as ["provider", "manage"] } };

  r.get(
    "/api/v1/provider-presets",
    {
      config: { access: { kind: "user" } },
      schema: {
        tags,
        summary: "The OpenAI-compatible vendors a provider can be added from (a preset, a key, done)",
        response: { 200: z.object({ presets: z.array(presetOut) }) },
      },
    },
    async () => ({ presets: svc.presets() }),
  );
  r.get(
    "/api/v1/orgs/:org/providers",
    {
      config: read,
      schema: {
        tags,
        summary: "List custom providers",
        params: orgParams,
        response: { 200: z.object({ providers: z.array(providerOut) }) },
      },
    },
    async (req) => ({
      providers: await svc.list(orgOf(req)),
    }),
  );
  r.post(
    "/api/v1/orgs/:org/providers",
    {
      config: manage,
      schema: {
        tags,
        summary:
          "Add a custom provider (keys are stored encrypted and never returned); with a preset, its models are listed at once",
        params: orgParams,
        body: createProviderBody,
        response: { 201: providerOut },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.create(orgOf(req), req.body)),
  );
  r.get(
    "/api/v1/orgs/:org/providers/:provider",
    { config: read, schema: { tags, summary: "Get a custom provider", params, response: { 200: providerOut } } },
    async (req) => svc.get(orgOf(req), req.params.provider),
  );
  r.patch(
    "/api/v1/orgs/:org/providers/:provider",
    {
      config: manage,
      schema: {
        tags,
        summary: "Update a custom provider",
        params,
        body: updateProviderBody,
        response: { 200: providerOut },
      },
    },
    async (req) => svc.update(orgOf(req), req.params.provider, req.body),
  );
  r.delete(
    "/api/v1/orgs/:org/providers/:provider",
    { config: manage, schema: { tags, summary: "Delete a custom provider", params } },
    async (req, reply) => {
      await svc.remove(orgOf(req), req.params.provider);
      return reply.status(204).send();
    },
  );
  r.post(
    "/api/v1/orgs/:org/providers/:provider/test",
    {
      config: manage,
      schema: {
        tags,
        summary: "Test connection: a one-token request to a model of the provider",
        params,
        body: z.strictObject({ model: z.string().max(200).optional() }).optional(),
        response: { 200: testResultOut },
      },
    },
    async (req) => svc.test(orgOf(req), req.params.provider, req.body?.model),
  );
  r.post(
    "/api/v1/orgs/:org/providers/:provider/discover",
    {
      config: manage,
      schema: {
        tags,
        summary: "List the provider's models at its upstream (GET /models, OpenAI format) and keep them",
        params,
        response: { 200: providerOut },
      },
    },
    async (req) => svc.discover(orgOf(req), req.params.provider),
  );
}
