/** Project routes: thin; access declared per route, project reachability checked before the body is read. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import {
  createProjectBody,
  deleteProjectBody,
  projectMemberResponse,
  projectResponse,
  setProjectMembersBody,
  updateProjectBody,
} from "./projects.schema.js";
import type { ProjectService } from "./projects.service.js";

export const projectParams = orgParams.extend({ project: z.string().min(1).max(64) });

/**
 * Route hook for everything under /projects/:project: after the org guard and
 * before the body is validated, a project the caller cannot reach answers 404,
 * so an unassigned member learns nothing more than about a missing project.
 */
export function projectAccessHook(projects: Pick<ProjectService, "assertReachable">) {
  return async (req: FastifyRequest) => {
    await projects.assertReachable(orgOf(req), String((req.params as { project?: unknown }).project ?? ""));
  };
}

export function registerProjectRoutes(app: FastifyInstance, deps: { projects: ProjectService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.projects;
  const tags = ["projects"];
  const reachable = projectAccessHook(svc);

  r.get(
    "/api/v1/orgs/:org/projects",
    {
      config: { access: { kind: "org", permission: ["project", "read"] } },
      schema: {
        tags,
        summary: "List projects (members see the projects they are assigned to)",
        params: orgParams,
        response: { 200: z.object({ projects: z.array(projectResponse) }) },
      },
    },
    async (req) => ({ projects: await svc.list(orgOf(req)) }),
  );

  r.post(
    "/api/v1/orgs/:org/projects",
    {
      config: { access: { kind: "org", permission: ["project", "create"] } },
      schema: {
        tags,
        summary: "Create a project (owner, admin)",
        params: orgParams,
        body: createProjectBody,
        response: { 201: projectResponse },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.create(orgOf(req), req.body)),
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project",
    {
      config: { access: { kind: "org", permission: ["project", "read"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary: "Get a project and its settings",
        params: projectParams,
        response: { 200: projectResponse },
      },
    },
    async (req) => svc.get(orgOf(req), req.params.project),
  );

  r.patch(
    "/api/v1/orgs/:org/projects/:project",
    {
      config: { access: { kind: "org", permission: ["project", "update"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary: "Update a project's name, slug, description or settings (owner, admin)",
        params: projectParams,
        body: updateProjectBody,
        response: { 200: projectResponse },
      },
    },
    async (req) => svc.update(orgOf(req), req.params.project, req.body),
  );

  r.delete(
    "/api/v1/orgs/:org/projects/:project",
    {
      config: { access: { kind: "org", permission: ["project", "delete"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary:
          "Delete a project with its keys (dead at once), settings and logs (owner, admin; body repeats the slug)",
        params: projectParams,
        body: deleteProjectBody,
      },
    },
    async (req, reply) => {
      await svc.remove(orgOf(req), req.params.project, req.body.confirm);
      return reply.status(204).send();
    },
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project/members",
    {
      config: { access: { kind: "org", permission: ["project", "assignMembers"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary: "Members assigned to the project (owner, admin)",
        params: projectParams,
        response: { 200: z.object({ members: z.array(projectMemberResponse) }) },
      },
    },
    async (req) => ({ members: await svc.listMembers(orgOf(req), req.params.project) }),
  );

  r.put(
    "/api/v1/orgs/:org/projects/:project/members",
    {
      config: { access: { kind: "org", permission: ["project", "assignMembers"] } },
      preValidation: reachable,
      schema: {
        tags,
        summary:
          "Replace the project's assigned members (owner, admin). Members who lose access lose their keys here unless keepKeys=true",
        params: projectParams,
        body: setProjectMembersBody,
        response: { 200: z.object({ members: z.array(projectMemberResponse) }) },
      },
    },
    async (req) => ({ members: await svc.setMembers(orgOf(req), req.params.project, req.body) }),
  );
}
