/**
 * How settled charges reach the ledger, with the request-log rows of the
 * requests they charge. A charged request's usage debit and its log row are
 * written in ONE transaction, so a crash keeps or loses both: the ledger and
 * the request logs agree hour by hour (`tollgate billing verify`) whatever
 * happens to a process.
 *  - Shared queue (Redis): the settle script queues the debit and the log row,
 *    serialised as one entry (`<debit JSON>\n<row JSON>`), in one atomic step;
 *    the replica that claims a batch writes its debits and rows here,
 *    idempotent by batch id (rows by request id).
 *  - In process (no Redis, or Redis unreachable at settle): charges and their
 *    log entries wait in this process's writer (`createChargeWriter`), written
 *    every 50 ms, so a hard crash loses at most that much settled traffic —
 *    charges and logs together.
 * Requests without a charge (free, refused, failed before any usage) keep the
 * request-log writer's path (modules/logs/logs.writer.ts).
 */
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "pino";
import type { RequestLogEntry } from "../../gateway/request-log.js";
import type { QueuedDebit } from "../../gateway/metering/redis-store.js";
import { createBatchWriter, type BatchWriter } from "../../platform/batch-writer.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import {
  appendDeadLetter,
  copyLogEntries,
  insertLogRows,
  logRowJson,
  pgliteClient,
  type LogRowJson,
} from "../logs/logs.writer.js";
import { claimUsageBatch, writeUsageIn, type UsageDebit } from "./billing.repo.js";

/** A settled charge and the log entry of its request (null: logged by the request-log writer). */
export interface Charge {
  debit: UsageDebit;
  log: RequestLogEntry | null;
}

/** A debit as queued in Redis (the charge travels next to it, set by the settle script). */
type QueuedEntry = Omit<UsageDebit, "costMicroUsd" | "hour" | "inputTokens" | "cachedInputTokens" | "outputTokens"> & {
  hour: number;
  inputTokens: string;
  cachedInputTokens: string;
  outputTokens: string;
};

/**
 * The queue entry of a debit without its charge (the settle script adds it), followed by its log row's
 * JSON when it has one. JSON.stringify never writes a raw line break, so the first one ends the debit.
 * Fields listed, not spread (the hot path).
 */
export function encodeQueued(d: Omit<UsageDebit, "costMicroUsd">, logRow: string | null): string {
  const debit = JSON.stringify({
    orgId: d.orgId,
    projectId: d.projectId,
    keyId: d.keyId,
    model: d.model,
    hour: d.hour.getTime(),
    requests: d.requests,
    inputTokens: d.inputTokens.toString(),
    cachedInputTokens: d.cachedInputTokens.toString(),
    outputTokens: d.outputTokens.toString(),
    // Absent (undefined: not written) when the request has none, as in entries queued before they existed.
    tags: d.tags?.length ? d.tags : undefined,
    user: d.user ?? undefined,
  } satisfies QueuedEntry);
  return logRow === null ? debit : `${debit}\n${logRow}`;
}

/** A claimed queue entry: the debit, and its log row as JSON text (passed to the database as it is, never parsed here). */
export function decodeQueued(q: QueuedDebit): { debit: UsageDebit; log: LogRowJson | null } {
  const nl = q.entry.indexOf("\n");
  const e = JSON.parse(nl < 0 ? q.entry : q.entry.slice(0, nl)) as QueuedEntry;
  const debit: UsageDebit = {
    ...e,
    hour: new Date(e.hour),
    inputTokens: BigInt(e.inputTokens),
    cachedInputTokens: BigInt(e.cachedInputTokens),
    outputTokens: BigInt(e.outputTokens),
    costMicroUsd: q.charged,
  };
  return { debit, log: nl < 0 ? null : { projectId: e.projectId, json: q.entry.slice(nl + 1) } };
}

/**
 * Writes debits and the log rows of the requests they charge in one transaction. With a batch id (the
 * shared queue), false when that batch was posted already: nothing is written twice.
 * Lock order: the batch id, the projects (key share, for the log rows), then the usage rows.
 */
export async function writeCharges(
  db: Db,
  debits: UsageDebit[],
  rows: LogRowJson[],
  batchId?: string,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (batchId && !(await claimUsageBatch(tx, batchId, debits.length))) return false;
    await insertLogRows(tx, rows);
    await writeUsageIn(tx, debits);
    return true;
  });
}

/** This process's charges and their log entries, in one transaction. */
async function writeLocalCharges(db: Db, debits: UsageDebit[], entries: RequestLogEntry[]): Promise<void> {
  const client = pgliteClient(db);
  if (client && entries.length > 0) {
    // Embedded PGlite: log rows by COPY (half the CPU of the JSON insert; PGlite runs on the gateway's own thread).
    try {
      await client.transaction(async (t) => {
        await copyLogEntries(t, entries);
        // Drizzle's PGlite driver only sends queries to its client, which the transaction answers.
        await writeUsageIn(drizzlePglite({ client: t as unknown as PGlite }) as unknown as DbOrTx, debits);
      });
      return;
    } catch {
      // An existing row fails the COPY (a retried batch): again below, where the insert skips it.
    }
  }
  await writeCharges(db, debits, entries.map(logRowJson));
}

export interface ChargeWriterOptions {
  db: Db;
  dataDir: string | null;
  log: Logger;
  intervalMs: number;
  /** Runs `write` once the batch's per-org and per-spend-cap totals are known (the store applies them under its lock). */
  commit(write: () => Promise<void>, perOrg: Map<string, bigint>, perCap: Map<string, bigint>): Promise<void>;
}

/** This process's queue of settled charges and their log entries (see the header). */
export function createChargeWriter(opts: ChargeWriterOptions): BatchWriter<Charge> {
  const add = (m: Map<string, bigint>, k: string, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);
  return createBatchWriter<Charge>({
    name: "usage-debits",
    intervalMs: opts.intervalMs,
    batchSize: 500,
    maxQueue: 200_000,
    write: async (charges) => {
      const perOrg = new Map<string, bigint>();
      const perCap = new Map<string, bigint>();
      const debits: UsageDebit[] = [];
      const logs: RequestLogEntry[] = [];
      for (const c of charges) {
        add(perOrg, c.debit.orgId, c.debit.costMicroUsd);
        for (const cap of c.debit.caps ?? []) add(perCap, cap, c.debit.costMicroUsd);
        debits.push(c.debit);
        if (c.log) logs.push(c.log);
      }
      await opts.commit(() => writeLocalCharges(opts.db, debits, logs), perOrg, perCap);
    },
    deadLetter: async (charges, reason) => {
      // The charges stay counted as unflushed (credits are not released): an operator replays the files.
      opts.log.error(
        { count: charges.length, reason },
        "usage debits could not be written to the ledger; saved to the dead-letter files with their request logs",
      );
      await appendDeadLetter(
        opts.dataDir,
        "usage-debits",
        charges.map((c) => c.debit),
      );
      await appendDeadLetter(
        opts.dataDir,
        "request-logs",
        charges.flatMap((c) => (c.log ? [c.log] : [])),
      );
    },
    onError: (err, attempt) =>
      opts.log.warn({ err: (err as Error).message, attempt }, "usage debit batch failed; will retry"),
    onBacklog: (queued) => opts.log.warn({ queued }, "usage debit queue is backing up"),
  });
}
