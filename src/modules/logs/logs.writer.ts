/**
 * The gateway's request-log sink: entries are enqueued on the request path and
 * inserted in batches (platform/batch-writer). Batches that cannot be written
 * go to `<data dir>/dead-letter/request-logs.jsonl` instead of being dropped.
 * Inserts are idempotent by request id, so a retried batch never duplicates.
 */
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { createBatchWriter, type BatchWriter } from "../../platform/batch-writer.js";
import type { Db } from "../../platform/db/db.js";
import type { RequestLogEntry } from "../../gateway/pipeline.js";
import { requestLogs } from "./logs.schema.js";

function isForeignKeyViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code === "23503") return true;
  return false;
}

function toRow(e: RequestLogEntry): typeof requestLogs.$inferInsert {
  return {
    id: e.id,
    orgId: e.orgId,
    projectId: e.projectId,
    keyId: e.keyId,
    createdAt: e.createdAt,
    endpoint: e.endpoint,
    modelRequested: e.modelRequested,
    modelServed: e.modelServed,
    provider: e.provider,
    status: e.status,
    outcome: e.outcome,
    errorCode: e.errorCode,
    errorSource: e.errorSource,
    inputTokens: e.usage?.inputTokens ?? 0,
    cachedInputTokens: e.usage?.cachedInputTokens ?? 0,
    outputTokens: e.usage?.outputTokens ?? 0,
    usageEstimated: e.usage?.estimated ?? false,
    costMicroUsd: e.costMicroUsd,
    latencyMs: e.latencyMs,
    ttftMs: e.ttftMs,
    attempts: e.attempts,
    clientIp: e.clientIp,
    userField: e.user,
    stream: e.stream,
    requestBody: e.requestBody ?? null,
    responseBody: e.responseBody ?? null,
  };
}

export function createRequestLogWriter(opts: { db: Db; dataDir: string | null; log: Logger; intervalMs?: number }): BatchWriter<RequestLogEntry> {
  const deadLetterFile = opts.dataDir ? path.join(opts.dataDir, "dead-letter", "request-logs.jsonl") : null;
  return createBatchWriter<RequestLogEntry>({
    name: "request-logs",
    intervalMs: opts.intervalMs ?? 500,
    batchSize: 500,
    maxQueue: 50_000,
    write: async (entries) => {
      try {
        await opts.db.insert(requestLogs).values(entries.map(toRow)).onConflictDoNothing({ target: requestLogs.id });
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err;
        // A project (or org) was deleted after its requests were served: its logs go with it.
        // Write the others one by one so one deleted project never holds up everyone's logs.
        for (const e of entries) {
          try {
            await opts.db.insert(requestLogs).values(toRow(e)).onConflictDoNothing({ target: requestLogs.id });
          } catch (rowErr) {
            if (!isForeignKeyViolation(rowErr)) throw rowErr;
          }
        }
      }
    },
    deadLetter: async (entries, reason) => {
      opts.log.error({ count: entries.length, reason }, "request logs could not be written; saved to the dead-letter file");
      if (!deadLetterFile) return;
      await mkdir(path.dirname(deadLetterFile), { recursive: true });
      await appendFile(deadLetterFile, entries.map((e) => JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).join("\n") + "\n");
    },
    onError: (err, attempt) => opts.log.warn({ err: (err as Error).message, attempt }, "request log batch failed; will retry"),
    onBacklog: (queued) => opts.log.warn({ queued }, "request log queue is backing up: the database is not keeping up with the write rate"),
  });
}
