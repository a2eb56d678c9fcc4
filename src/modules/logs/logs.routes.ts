import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { exportQuery, logDetailOut, logOut, logsQuery, usageQuery, usageRowOut } from "./logs.schema.js";
import type { LogService } from "./logs.service.js";

export function registerLogRoutes(app: FastifyInstance, deps: { logs: LogService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.logs;
  const tags = ["logs"];
  const projectParams = orgParams.extend({ project: z.string().min(1).max(64) });
  const access = { access: { kind: "org" as const, permission: ["logs", "read"] as ["logs", "read"] } };

  r.get(
    "/api/v1/orgs/:org/projects/:project/logs",
    {
      config: access,
      schema: {
        tags,
        summary: "Request logs, newest first, filterable, cursor-paged",
        params: projectParams,
        querystring: logsQuery,
        response: { 200: z.object({ logs: z.array(logOut), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => svc.list(orgOf(req), req.params.project, req.query),
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project/logs/export",
    {
      config: access,
      schema: {
        tags,
        summary: "Export request logs as CSV or JSONL (streamed)",
        params: projectParams,
        querystring: exportQuery,
      },
    },
    async (req, reply) => {
      const out = await svc.export(orgOf(req), req.params.project, req.query);
      reply.header(
        "content-type",
        req.query.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      );
      reply.header("content-disposition", `attachment; filename="${out.filename}"`);
      return reply.send(Readable.from(out.lines));
    },
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project/logs/:requestId",
    {
      config: access,
      schema: {
        tags,
        summary: "One request with its bodies (when the project stores them)",
        params: projectParams.extend({ requestId: z.string().min(1).max(100) }),
        response: { 200: logDetailOut },
      },
    },
    async (req) => svc.get(orgOf(req), req.params.project, req.params.requestId),
  );

  r.get(
    "/api/v1/orgs/:org/projects/:project/usage",
    {
      config: access,
      schema: {
        tags,
        summary: "Usage per day × model: requests, tokens, cost, p50/p95 latency, error rate",
        params: projectParams,
        querystring: usageQuery,
        response: { 200: z.object({ from: z.string(), to: z.string(), usage: z.array(usageRowOut) }) },
      },
    },
    async (req) => svc.usage(orgOf(req), req.params.project, req.query),
  );
}
