/**
 * The gateway's request-log sink: entries are enqueued on the request path and
 * inserted in batches (platform/batch-writer). Batches that cannot be written
 * go to `<data dir>/dead-letter/request-logs.jsonl` instead of being dropped.
 * Inserts are idempotent by request id, so a retried batch never duplicates.
 *
 * A batch is one statement with ONE parameter (the rows as a JSON array, turned
 * into rows by json_populate_recordset) rather than a 500-row VALUES list with
 * ~13,000 bound parameters: building that list in the query builder cost as
 * much CPU as executing it, on the same event loop as the gateway (bench/gateway.ts).
 */
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { getTableColumns, sql } from "drizzle-orm";
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

/** Table columns in a fixed order: [property of the drizzle row, SQL column name]. */
const COLUMNS = Object.entries(getTableColumns(requestLogs)).map(([prop, col]) => [prop, col.name] as const);
const COLUMN_LIST = sql.join(
  COLUMNS.map(([, name]) => sql.identifier(name)),
  sql`, `,
);

/** One row as JSON keyed by column name; bigint as a decimal string, Date as ISO 8601 (both parsed back exactly by PostgreSQL). */
function toJsonRow(e: RequestLogEntry): Record<string, unknown> {
  const row = toRow(e) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [prop, name] of COLUMNS) {
    const v = row[prop];
    out[name] = typeof v === "bigint" ? v.toString() : v;
  }
  return out;
}

async function insertRows(db: Db, entries: RequestLogEntry[]): Promise<void> {
  const json = JSON.stringify(entries.map(toJsonRow));
  // Every column is listed, so a NULL from JSON means NULL (toRow fills defaults itself).
  await db.execute(
    sql`insert into ${requestLogs} (${COLUMN_LIST}) select ${COLUMN_LIST} from json_populate_recordset(null::${requestLogs}, ${json}::json) on conflict (id) do nothing`,
  );
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
        await insertRows(opts.db, entries);
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err;
        // A project (or org) was deleted after its requests were served: its logs go with it.
        // Write the others one by one so one deleted project never holds up everyone's logs.
        for (const e of entries) {
          try {
            await insertRows(opts.db, [e]);
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
