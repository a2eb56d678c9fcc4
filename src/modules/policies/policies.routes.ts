import type { FastifyInstance, FastifySchemaValidationError } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { appError } from "../../platform/errors.js";
import { orgParams } from "../../platform/routes.js";
import { orgPolicySchema, projectOverrideSchema } from "../../gateway/security/index.js";
import { incidentOut, incidentsQuery, orgPolicyOut, projectPolicyOut, reviewBody } from "./policies.schema.js";
import type { PolicyService } from "./policies.service.js";

/**
 * A policy body that fails the library's schema (unknown key, bad action,
 * a regex RE2 refuses, duplicate rule names…) is a 422 INVALID_POLICY naming
 * each field; other request parts keep the usual 400 VALIDATION_ERROR.
 */
function policyErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  if (dataVar !== "body") return new Error(errors[0]?.message ?? "Invalid request.");
  const details = errors.map((e) => ({
    path: String(e.instancePath || "")
      .split("/")
      .filter(Boolean)
      .join("."),
    message: e.message ?? "invalid",
  }));
  const first = details[0];
  return appError(
    "INVALID_POLICY",
    `Invalid security policy: ${first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid"}`,
    details,
  );
}

export function registerPolicyRoutes(app: FastifyInstance, deps: { policies: PolicyService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.policies;
  const tags = ["security"];
  const projectParams = orgParams.extend({ project: z.string().min(1).max(64) });
  const incidentParams = orgParams.extend({ id: z.string().min(1).max(100) });
  const read = { access: { kind: "org" as const, permission: ["policy", "read"] as ["policy", "read"] } };
  const manage = { access: { kind: "org" as const, permission: ["policy", "manage"] as ["policy", "manage"] } };
  const incidentsRead = { access: { kind: "org" as const, permission: ["incident", "read"] as ["incident", "read"] } };
  const incidentsReview = {
    access: { kind: "org" as const, permission: ["incident", "review"] as ["incident", "review"] },
  };

  r.get(
    "/api/v1/orgs/:org/security-policy",
    {
      config: read,
      schema: {
        tags,
        summary: "The organization's shared security policy (defaults filled in)",
        params: orgParams,
        response: { 200: orgPolicyOut },
      },
    },
    async (req) => svc.getOrgPolicy(orgOf(req)),
  );

  r.put(
    "/api/v1/orgs/:org/security-policy",
    {
      config: manage,
      schemaErrorFormatter: policyErrors,
      schema: {
        tags,
        summary: "Replace the organization's security policy (every project inherits it)",
        params: orgParams,
        body: orgPolicySchema,
        response: { 200: orgPolicyOut },
      },
    },
    async (req) => svc.putOrgPolicy(orgOf(req), req.body),
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project/security-policy",
    {
      config: read,
      schema: {
        tags,
        summary: "A project's override and the effective policy the gateway applies",
        params: projectParams,
        response: { 200: projectPolicyOut },
      },
    },
    async (req) => svc.getProjectPolicy(orgOf(req), req.params.project),
  );

  r.put(
    "/api/v1/orgs/:org/projects/:project/security-policy",
    {
      config: manage,
      schemaErrorFormatter: policyErrors,
      schema: {
        tags,
        summary: "Replace a project's override (it may only tighten the organization's policy)",
        params: projectParams,
        body: projectOverrideSchema,
        response: { 200: projectPolicyOut },
      },
    },
    async (req) => svc.putProjectPolicy(orgOf(req), req.params.project, req.body),
  );

  r.get(
    "/api/v1/orgs/:org/incidents",
    {
      config: incidentsRead,
      schema: {
        tags,
        summary: "Security incidents, newest first, filterable, cursor-paged",
        params: orgParams,
        querystring: incidentsQuery,
        response: { 200: z.object({ incidents: z.array(incidentOut), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => svc.listIncidents(orgOf(req), req.query),
  );

  r.get(
    "/api/v1/orgs/:org/incidents/:id",
    {
      config: incidentsRead,
      schema: { tags, summary: "One security incident", params: incidentParams, response: { 200: incidentOut } },
    },
    async (req) => svc.getIncident(orgOf(req), req.params.id),
  );

  r.post(
    "/api/v1/orgs/:org/incidents/:id/review",
    {
      config: incidentsReview,
      schema: {
        tags,
        summary: "Mark an incident reviewed, with an optional note",
        params: incidentParams,
        body: reviewBody,
        response: { 200: incidentOut },
      },
    },
    async (req) => svc.review(orgOf(req), req.params.id, req.body.note),
  );
}
