/**
 * Reading request logs and usage (every role, for the projects it can reach:
 * members only their assigned projects — others answer 404 like any unknown
 * project). Exports stream page by page, so memory stays flat at any size.
 */
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db } from "../../platform/db/db.js";
import { appError, assertRange } from "../../platform/errors.js";
import { moneyValues } from "../../platform/money-fields.js";
import { assertCan } from "../../platform/permissions.js";
import { resolveProject } from "../projects/projects.service.js";
import * as repo from "./logs.repo.js";
import type { LogsQuery } from "./logs.schema.js";

export function logOut(r: repo.LogRow) {
  return {
    requestId: r.id,
    createdAt: r.createdAt.toISOString(),
    endpoint: r.endpoint,
    keyId: r.keyId,
    modelRequested: r.modelRequested,
    modelServed: r.modelServed,
    provider: r.provider,
    status: r.status,
    outcome: r.outcome,
    errorCode: r.errorCode,
    errorSource: r.errorSource,
    inputTokens: r.inputTokens,
    cachedInputTokens: r.cachedInputTokens,
    outputTokens: r.outputTokens,
    usageEstimated: r.usageEstimated,
    ...moneyValues("cost", r.costMicroUsd),
    latencyMs: r.latencyMs,
    ttftMs: r.ttftMs,
    attempts: r.attempts,
    clientIp: r.clientIp,
    user: r.userField,
    tags: r.tags ?? null,
    metadata: r.metadata ?? null,
    cache: r.cache ?? null,
    stream: r.stream,
  };
}

const CSV_COLUMNS = [
  "requestId",
  "createdAt",
  "endpoint",
  "keyId",
  "modelRequested",
  "modelServed",
  "provider",
  "status",
  "outcome",
  "errorCode",
  "errorSource",
  "inputTokens",
  "cachedInputTokens",
  "outputTokens",
  "usageEstimated",
  "costUsd",
  "latencyMs",
  "ttftMs",
  "clientIp",
  "user",
  "stream",
  "tags",
  "metadata",
] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  // Tags as "a,b"; metadata as its JSON object.
  const s = typeof v === "object" && !Array.isArray(v) ? JSON.stringify(v) : String(v);
  // Quote when needed; neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A filter's bounds the wrong way round: 400 INVALID_RANGE naming them. */
function checkRanges(q: Omit<LogsQuery, "limit" | "cursor">): void {
  assertRange(q.from, q.to, "from must not be after to.");
  assertRange(q.minCostUsd, q.maxCostUsd, "minCostUsd must not be more than maxCostUsd.");
  assertRange(q.minLatencyMs, q.maxLatencyMs, "minLatencyMs must not be more than maxLatencyMs.");
}

export function createLogService(deps: { db: Db }) {
  const { db } = deps;

  async function project(ctx: OrgContext, slug: string) {
    assertCan(ctx, "logs", "read");
    return (await resolveProject(db, ctx, slug)).project;
  }

  return {
    async list(ctx: OrgContext, projectSlug: string, q: LogsQuery) {
      checkRanges(q);
      const p = await project(ctx, projectSlug);
      const where = repo.filters(ctx.orgId, p.id, q);
      if (!where) throw appError("INVALID_CURSOR");
      const rows = await repo.page(db, where, q.limit + 1);
      const pageRows = rows.slice(0, q.limit);
      return {
        logs: pageRows.map(logOut),
        nextCursor: rows.length > q.limit ? repo.encodeCursor(pageRows[pageRows.length - 1]!) : null,
      };
    },

    async get(ctx: OrgContext, projectSlug: string, requestId: string) {
      const p = await project(ctx, projectSlug);
      const row = await repo.getOne(db, ctx.orgId, p.id, requestId);
      if (!row) throw appError("LOG_NOT_FOUND");
      return {
        ...logOut(row),
        requestBody: row.requestBody ?? null,
        responseBody: row.responseBody ?? null,
        policy: row.policy ?? null,
      };
    },

    /** An async iterable of export lines (header first for CSV). */
    async export(
      ctx: OrgContext,
      projectSlug: string,
      q: Omit<LogsQuery, "limit" | "cursor"> & { format: "csv" | "jsonl" },
    ) {
      checkRanges(q);
      const p = await project(ctx, projectSlug);
      async function* lines(): AsyncGenerator<string> {
        if (q.format === "csv") yield `${CSV_COLUMNS.join(",")}\n`;
        let cursor: string | undefined;
        for (;;) {
          const rows = await repo.page(db, repo.filters(ctx.orgId, p.id, { ...q, cursor })!, 1000);
          for (const r of rows) {
            const o = logOut(r);
            yield q.format === "csv"
              ? `${CSV_COLUMNS.map((c) => csvCell(o[c])).join(",")}\n`
              : `${JSON.stringify(o)}\n`;
          }
          if (rows.length < 1000) return;
          cursor = repo.encodeCursor(rows[rows.length - 1]!);
        }
      }
      return { filename: `${p.slug}-logs.${q.format}`, lines: lines() };
    },

    async usage(ctx: OrgContext, projectSlug: string, q: { from?: string; to?: string }) {
      const p = await project(ctx, projectSlug);
      const to = q.to ? new Date(q.to) : new Date();
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
      const rows = await repo.usageByDayModel(db, ctx.orgId, p.id, from, to);
      const usage = rows.map((r) => {
        const cost = BigInt(r.costMicroUsd);
        return {
          day: r.day,
          model: r.model,
          requests: Number(r.requests),
          errors: Number(r.errors),
          errorRate: Number(r.requests) ? Number(r.errors) / Number(r.requests) : 0,
          inputTokens: Number(r.inputTokens),
          cachedInputTokens: Number(r.cachedInputTokens),
          outputTokens: Number(r.outputTokens),
          cacheHits: Number(r.cacheHits),
          cacheMisses: Number(r.cacheMisses),
          ...moneyValues("cost", cost),
          latencyP50Ms: r.p50 === null ? null : Math.round(Number(r.p50)),
          latencyP95Ms: r.p95 === null ? null : Math.round(Number(r.p95)),
        };
      });
      return { from: from.toISOString(), to: to.toISOString(), usage };
    },
  };
}

export type LogService = ReturnType<typeof createLogService>;
