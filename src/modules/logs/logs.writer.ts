/**
 * The gateway's request-log sink: entries are enqueued on the request path and
 * inserted in batches (platform/batch-writer). Batches that cannot be written
 * go to `<data dir>/dead-letter/request-logs.jsonl` instead of being dropped.
 * Inserts are idempotent by request id, so a retried batch never duplicates.
 * The rows of charged requests do not come this way: billing writes each in
 * the transaction of its charge (billing.charges.ts), with the functions
 * exported here, so a crash keeps or loses both.
 *
 * Per batch, one short transaction: lock the batch's projects (FOR KEY SHARE,
 * once per project instead of a foreign-key check per row, which cost half the
 * insert's CPU), drop the entries of projects deleted meanwhile (their logs go
 * with them, like the old ON DELETE CASCADE; the delete triggers of migration
 * 0006 remove logs of a project deleted later), then insert:
 *  - embedded PGlite: one COPY FROM a blob (text format). PGlite runs on the
 *    gateway's own event loop, so its CPU per row is the gateway's; COPY skips
 *    the protocol encoding of a big string parameter and JSON parsing. If the
 *    COPY fails (e.g. a retried batch whose rows already exist), the batch is
 *    inserted again as below, which skips existing ids;
 *  - PostgreSQL: one INSERT … SELECT FROM json_populate_recordset($1) with the
 *    rows as ONE JSON parameter, ON CONFLICT (id) DO NOTHING (a VALUES list
 *    would bind ~13,000 parameters for 500 rows).
 * Bodies the gateway already holds as JSON text (`JsonText`) are embedded as
 * they are, never parsed and re-serialised.
 */
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { getTableColumns, inArray, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { createBatchWriter, type BatchWriter } from "../../platform/batch-writer.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { JsonText } from "../../gateway/log-body.js";
import type { RequestLogEntry } from "../../gateway/request-log.js";
import type { Usage } from "../../gateway/types.js";
import { projects } from "../projects/projects.schema.js";
import { requestLogs, USAGE_DETAIL_KEYS, type UsageDetails } from "./logs.schema.js";

/**
 * `usage_details` (see UsageDetails) as JSON text, or null when the provider reported none of
 * those parts, as for most requests. Built as text key by key: per request, an object plus
 * JSON.stringify would cost more, and a zero prices the same as an absent count.
 */
function usageDetailsJson(u: Usage): JsonText | null {
  let json = "";
  for (const key of USAGE_DETAIL_KEYS) {
    const v = u[key];
    if (v !== undefined && v > 0 && Number.isFinite(v)) json += `${json ? "," : "{"}"${key}":${Math.trunc(v)}`;
  }
  return json ? new JsonText(`${json}}`) : null;
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
    // JSON text (embedded as is by both insert paths), typed as the column reads back.
    usageDetails: e.usage ? (usageDetailsJson(e.usage) as unknown as UsageDetails | null) : null,
    costMicroUsd: e.costMicroUsd,
    latencyMs: e.latencyMs,
    ttftMs: e.ttftMs,
    attempts: e.attempts,
    clientIp: e.clientIp,
    userField: e.user,
    tags: e.tags ?? null,
    metadata: e.metadata ?? null,
    cache: e.cache ?? null,
    stream: e.stream,
    requestBody: e.requestBody ?? null,
    responseBody: e.responseBody ?? null,
    policy: (e.policy ?? null) as (typeof requestLogs.$inferInsert)["policy"],
  };
}

/** Table columns in a fixed order: drizzle row property, SQL column name, whether it is jsonb. */
const COLUMNS = Object.entries(getTableColumns(requestLogs)).map(([prop, col]) => ({
  prop,
  name: col.name,
  json: col.getSQLType() === "jsonb",
}));
const COLUMN_LIST = sql.join(
  COLUMNS.map((c) => sql.identifier(c.name)),
  sql`, `,
);
const COLUMN_NAMES = COLUMNS.map((c) => `"${c.name}"`).join(", ");
const KEY_PREFIX = COLUMNS.map((c, i) => `${i === 0 ? "{" : ","}${JSON.stringify(c.name)}:`);

/** JSON text of one value; a JsonText is already JSON. bigint as a decimal string, Date as ISO 8601 (PostgreSQL parses both back exactly). */
function jsonOf(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (v instanceof JsonText) return v.text;
  if (typeof v === "bigint") return `"${v.toString()}"`;
  return JSON.stringify(v);
}

/** One row as a JSON object keyed by column name (for json_populate_recordset). */
function toJsonRow(e: RequestLogEntry): string {
  const row = toRow(e) as Record<string, unknown>;
  let out = "";
  for (let i = 0; i < COLUMNS.length; i++) out += KEY_PREFIX[i] + jsonOf(row[COLUMNS[i]!.prop]);
  return `${out}}`;
}

const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
/** A field of COPY's text format: backslash, tab, newline and carriage return escaped. */
const copyEscape = (text: string) =>
  /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : text;

/** One row as a line of COPY's text format (tab-separated, \N for NULL). */
function toCopyLine(e: RequestLogEntry): string {
  const row = toRow(e) as Record<string, unknown>;
  let out = "";
  for (let i = 0; i < COLUMNS.length; i++) {
    const c = COLUMNS[i]!;
    const v = row[c.prop];
    let field: string;
    if (v === null || v === undefined) field = "\\N";
    else if (c.json) field = copyEscape(jsonOf(v));
    else if (v instanceof Date) field = v.toISOString();
    else if (typeof v === "boolean") field = v ? "t" : "f";
    else field = copyEscape(String(v));
    out += i === 0 ? field : `\t${field}`;
  }
  return `${out}\n`;
}

/** A request-log row as JSON text for json_populate_recordset, with its project (rows of a deleted project are skipped). */
export interface LogRowJson {
  projectId: string;
  json: string;
}

/** One entry as a row for insertLogRows (the billing queue in Redis carries rows in this form). */
export const logRowJson = (e: RequestLogEntry): LogRowJson => ({ projectId: e.projectId, json: toJsonRow(e) });

/** The transaction of a PGlite client (what `PGlite.transaction` hands its callback). */
type PgliteTx = Parameters<Parameters<PGlite["transaction"]>[0]>[0];

/** The projects among `ids` that still exist, locked against deletion until the transaction ends (null: all of them). */
async function liveProjects(tx: DbOrTx, ids: string[]): Promise<Set<string> | null> {
  const rows = await tx.select({ id: projects.id }).from(projects).where(inArray(projects.id, ids)).for("key share");
  return rows.length === ids.length ? null : new Set(rows.map((r) => r.id));
}

/** Inserts rows in the caller's transaction: one INSERT … json_populate_recordset, existing ids skipped (a retried batch). */
export async function insertLogRows(tx: DbOrTx, rows: LogRowJson[]): Promise<void> {
  if (rows.length === 0) return;
  const live = await liveProjects(tx, [...new Set(rows.map((r) => r.projectId))]);
  let json = "";
  for (const r of rows) if (!live || live.has(r.projectId)) json += (json ? "," : "[") + r.json;
  if (!json) return;
  // Every column is listed, so a NULL from JSON means NULL (toRow fills defaults itself).
  await tx.execute(
    sql`insert into ${requestLogs} (${COLUMN_LIST}) select ${COLUMN_LIST} from json_populate_recordset(null::${requestLogs}, ${`${json}]`}::json) on conflict (id, created_at) do nothing`,
  );
}

/** Embedded PGlite: inserts entries in the caller's PGlite transaction with one COPY (fails on an existing id). */
export async function copyLogEntries(t: PgliteTx, entries: RequestLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const ids = [...new Set(entries.map((e) => e.projectId))];
  const res = await t.query<{ id: string }>("select id from projects where id = any($1::text[]) for key share", [ids]);
  const live = res.rows.length === ids.length ? null : new Set(res.rows.map((r) => r.id));
  let text = "";
  for (const e of entries) if (!live || live.has(e.projectId)) text += toCopyLine(e);
  if (text) await t.query(`copy request_logs (${COLUMN_NAMES}) from '/dev/blob'`, [], { blob: new Blob([text]) });
}

/** The PGlite client behind `db`, or null on PostgreSQL. */
export function pgliteClient(db: Db): PGlite | null {
  const client = (db as { $client?: unknown }).$client;
  return client instanceof PGlite ? client : null;
}

/** Writes one batch (see the header): returns once it is committed. */
export async function writeRequestLogs(db: Db, entries: RequestLogEntry[]): Promise<void> {
  const client = pgliteClient(db);
  if (client) {
    try {
      await client.transaction((t) => copyLogEntries(t, entries));
      return;
    } catch {
      // Fall through: the idempotent INSERT skips rows that exist and reports any other error.
    }
  }
  await db.transaction((tx) => insertLogRows(tx, entries.map(logRowJson)));
}

/** Appends rows that could not be written to `<data dir>/dead-letter/<name>.jsonl` (bigints as decimal strings), for an operator to replay. */
export async function appendDeadLetter(dataDir: string | null, name: string, rows: unknown[]): Promise<void> {
  if (!dataDir || rows.length === 0) return;
  const file = path.join(dataDir, "dead-letter", `${name}.jsonl`);
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(
    file,
    `${rows.map((e) => JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).join("\n")}\n`,
  );
}

export function createRequestLogWriter(opts: {
  db: Db;
  dataDir: string | null;
  log: Logger;
  intervalMs?: number;
}): BatchWriter<RequestLogEntry> {
  return createBatchWriter<RequestLogEntry>({
    name: "request-logs",
    intervalMs: opts.intervalMs ?? 500,
    batchSize: 500,
    maxQueue: 50_000,
    write: (entries) => writeRequestLogs(opts.db, entries),
    deadLetter: async (entries, reason) => {
      opts.log.error(
        { count: entries.length, reason },
        "request logs could not be written; saved to the dead-letter file",
      );
      await appendDeadLetter(opts.dataDir, "request-logs", entries);
    },
    onError: (err, attempt) =>
      opts.log.warn({ err: (err as Error).message, attempt }, "request log batch failed; will retry"),
    onBacklog: (queued) =>
      opts.log.warn({ queued }, "request log queue is backing up: the database is not keeping up with the write rate"),
  });
}
