import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import {
  billingOut,
  transactionOut,
  transactionsQuery,
  usageGroupedOut,
  usageReportOut,
  usageReportQuery,
} from "./billing.schema.js";
import type { BillingService } from "./billing.service.js";

export function registerBillingRoutes(app: FastifyInstance, deps: { billing: BillingService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.billing;
  const tags = ["billing"];
  const access = { access: { kind: "org" as const, permission: ["billing", "read"] as ["billing", "read"] } };

  r.get(
    "/api/v1/orgs/:org/billing",
    {
      config: access,
      schema: {
        tags,
        summary:
          "Balance, credits held by requests in flight, this month's spend, whether prepaid credits are on, and how credits are added",
        params: orgParams,
        response: { 200: billingOut },
      },
    },
    async (req) => svc.summary(orgOf(req)),
  );

  r.get(
    "/api/v1/orgs/:org/billing/transactions",
    {
      config: access,
      schema: {
        tags,
        summary: "Ledger entries, newest first, cursor-paged (usage is one entry per project per hour)",
        params: orgParams,
        querystring: transactionsQuery,
        response: { 200: z.object({ transactions: z.array(transactionOut), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => svc.transactions(orgOf(req), req.query),
  );

  r.get(
    "/api/v1/orgs/:org/billing/usage",
    {
      config: access,
      schema: {
        tags,
        summary:
          "Usage by day × project × model × key, or by one dimension (groupBy: day, project, model, key, tag, user), with totals (format=csv for a CSV export)",
        params: orgParams,
        querystring: usageReportQuery,
        // The grouped shape first: it requires `groupBy`, so the default report never matches it.
        response: { 200: usageGroupedOut.or(usageReportOut).or(z.string()) },
      },
    },
    async (req, reply) => {
      const report = await svc.usage(orgOf(req), req.query);
      if (req.query.format !== "csv") return report;
      reply.header("content-type", "text/csv; charset=utf-8");
      reply.header(
        "content-disposition",
        `attachment; filename="usage-${req.params.org}-${report.from.slice(0, 10)}-${report.to.slice(0, 10)}${req.query.groupBy ? `-by-${req.query.groupBy}` : ""}.csv"`,
      );
      return reply.send(svc.usageCsv(report));
    },
  );
}
