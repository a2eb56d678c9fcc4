/**
 * The delivery loop of log destinations: every replica polls, and for each
 * enabled destination the replica holding its lease (`job_leases`) reads the
 * rows after the destination's cursors and POSTs them, signed, in batches.
 * Invariants:
 *  - at least once, none lost: a cursor moves only after the receiver answered
 *    2xx (or the batch was dead-lettered), and only while this replica holds
 *    the lease; a replica that dies leaves the cursor where the last
 *    delivered batch ended, and the next holder resends from there. Receivers
 *    dedupe by `requestId`;
 *  - a row is read only once it can no longer be missing: rows carry the time
 *    their request started (`created_at`) but reach the table after it ended.
 *    A request that ran at most `quickMs` is read once it started more than
 *    `quickMs + settleMs` ago; a longer one once it started more than
 *    `maxRequestMs + settleMs` ago (the gateway ends every request within its
 *    total timeout). So there are two cursors over (created_at, id): quick
 *    rows are delivered within about half a minute, long ones after a few
 *    minutes, each stream in order; a batch carries both, sorted;
 *  - a failed batch (non-2xx, network error, timeout) is retried with
 *    exponential backoff (`backoffBaseMs` doubling up to `backoffMaxMs`), the
 *    state kept on the destination row so another replica respects it; after
 *    `maxAttempts` attempts or `deadLetterAfterMs` of failing, the batch is
 *    dead-lettered: skipped, its rows counted, the error kept;
 *  - cheap when idle: one query lists the enabled destinations, then one
 *    indexed query per destination this replica holds (the long stream's
 *    every `longPollMs`); an idle cursor is saved at most once a minute.
 */
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { newId } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { postSigned, webhookHost } from "../../platform/webhook-signing.js";
import { validateBaseUrl } from "../../gateway/net/ssrf.js";
import type { LogRow } from "../logs/logs.repo.js";
import { logOut } from "../logs/logs.service.js";
import { sealContext } from "./log-destinations.schema.js";
import * as stream from "./log-destinations.stream.js";
import type { Cursor, DueDestination } from "./log-destinations.stream.js";

export interface DeliveryTimings {
  /** How often every replica looks for new rows. */
  pollMs: number;
  /** How often the long-request stream is read when it has nothing waiting. */
  longPollMs: number;
  batchRows: number;
  /** A batch stops growing past this many bytes of JSON (at least one row is sent). */
  batchBytes: number;
  /** One delivery attempt, connect to answer. */
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Attempts of one batch before it is dead-lettered. */
  maxAttempts: number;
  /** Failing for this long dead-letters the batch too. */
  deadLetterAfterMs: number;
  /** How late a row may reach the table after its request ended (log writer batches and retries, clock skew). */
  settleMs: number;
  /** Requests that ran at most this long go to the quick stream. */
  quickMs: number;
  /** The longest a gateway request runs (its total timeout, 5 minutes, and a margin). */
  maxRequestMs: number;
  leaseMs: number;
}

export const DEFAULT_TIMINGS: DeliveryTimings = {
  pollMs: 1_000,
  longPollMs: 10_000,
  batchRows: 500,
  batchBytes: 4 * 1024 * 1024,
  timeoutMs: 10_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  deadLetterAfterMs: 24 * 3_600_000,
  settleMs: 10_000,
  quickMs: 20_000,
  maxRequestMs: 330_000,
  leaseMs: 60_000,
};

export interface DeliveryDeps {
  db: Db;
  box: SecretBox;
  allowedHosts: readonly string[];
  /** The SSRF-guarded dispatcher (gateway/net/ssrf.ts createGuardedDispatcher). */
  dispatcher: Dispatcher;
  log: Pick<Logger, "info" | "warn" | "error">;
  timings: DeliveryTimings;
}

/** What this replica remembers of a destination it holds: cursors possibly ahead of the saved ones (idle advances). */
interface Held {
  leaseUntil: number;
  cursor: Cursor;
  longCursor: Cursor;
  /** The cursors as saved: when the row says otherwise, another replica moved them and this memory is dropped. */
  saved: { cursor: Cursor; longCursor: Cursor };
  lastLongRead: number;
  longWaiting: boolean;
}

const sameCursor = (a: Cursor, b: Cursor) => a.at.getTime() === b.at.getTime() && a.id === b.id;
const before = (a: LogRow, b: LogRow) =>
  a.createdAt.getTime() < b.createdAt.getTime() || (a.createdAt.getTime() === b.createdAt.getTime() && a.id < b.id);
const IDLE_SAVE_MS = 60_000;

/** One row as receivers get it: the logs API's view with its bodies (stored only if the project keeps them, masked). */
function rowOut(r: LogRow, slugs: Map<string, string>) {
  return {
    ...logOut(r),
    projectId: r.projectId,
    project: slugs.get(r.projectId) ?? null,
    requestBody: r.requestBody ?? null,
    responseBody: r.responseBody ?? null,
    policy: r.policy ?? null,
  };
}

export function createDeliveryLoop(deps: DeliveryDeps) {
  const { db, log, timings: t } = deps;
  const holder = newId();
  const held = new Map<string, Held>();
  const workers = new Map<string, Promise<void>>();
  const stop = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;

  const backoff = (failures: number) => Math.min(t.backoffMaxMs, t.backoffBaseMs * 2 ** Math.min(30, failures - 1));

  function memory(d: DueDestination): Held {
    const saved = {
      cursor: { at: d.cursorAt, id: d.cursorId },
      longCursor: { at: d.longCursorAt, id: d.longCursorId },
    };
    const m = held.get(d.id);
    if (m && sameCursor(m.saved.cursor, saved.cursor) && sameCursor(m.saved.longCursor, saved.longCursor)) return m;
    const fresh: Held = { leaseUntil: 0, ...saved, saved, lastLongRead: 0, longWaiting: false };
    held.set(d.id, fresh);
    return fresh;
  }

  /** Reads the next batch of both streams: the rows (sorted, bounded) and the cursors once they are delivered. */
  async function nextBatch(d: DueDestination, m: Held, now: number) {
    const limit = t.batchRows;
    const quickHorizon = new Date(now - t.quickMs - t.settleMs);
    const longHorizon = new Date(now - t.maxRequestMs - t.settleMs);
    const readLong = m.longWaiting || now - m.lastLongRead >= t.longPollMs;
    const q = { orgId: d.orgId, quickMs: t.quickMs, limit };
    const [quick, long] = await Promise.all([
      stream.readRows(db, { ...q, cursor: m.cursor, horizon: quickHorizon, quick: true }),
      readLong
        ? stream.readRows(db, {
            ...q,
            cursor: m.longCursor,
            horizon: longHorizon,
            quick: false,
          })
        : Promise.resolve([]),
    ]);
    if (readLong) {
      m.lastLongRead = now;
      m.longWaiting = long.length === limit;
    }
    // Merge the two sorted streams; stop at the row limit or the byte budget.
    const rows: LogRow[] = [];
    let i = 0;
    let j = 0;
    while (rows.length < limit && (i < quick.length || j < long.length)) {
      rows.push(j >= long.length || (i < quick.length && before(quick[i]!, long[j]!)) ? quick[i++]! : long[j++]!);
    }
    const slugs = await stream.projectSlugs(db, [...new Set(rows.map((r) => r.projectId))]);
    const parts: string[] = [];
    let bytes = 0;
    for (const r of rows) {
      const json = JSON.stringify(rowOut(r, slugs));
      if (parts.length > 0 && bytes + json.length > t.batchBytes) break;
      parts.push(json);
      bytes += json.length + 1;
    }
    const sent = rows.slice(0, parts.length);
    /** A stream's cursor once `sent` is delivered: past its last row sent, or up to its horizon if it was read whole (never back). */
    const next = (c: Cursor, read: LogRow[], quickRows: boolean, horizon: Date): Cursor => {
      const mine = sent.filter((r) => (quickRows ? r.latencyMs <= t.quickMs : r.latencyMs > t.quickMs));
      if (mine.length === read.length && read.length < limit)
        return horizon.getTime() > c.at.getTime() ? { at: horizon, id: null } : c;
      const r = mine[mine.length - 1];
      return r ? { at: r.createdAt, id: r.id } : c;
    };
    const cursor = next(m.cursor, quick, true, quickHorizon);
    const longCursor = readLong ? next(m.longCursor, long, false, longHorizon) : m.longCursor;
    const more = sent.length < rows.length || quick.length === limit || long.length === limit;
    return { rows: sent, parts, cursor, longCursor, more };
  }

  /** Delivers what is due for one destination this replica holds, until nothing more is due now or a batch fails. */
  async function work(d: DueDestination): Promise<void> {
    const m = memory(d);
    let failures = d.failures;
    let failingSince = d.failingSince;
    let secret: string | null = null;
    try {
      secret = deps.box.open(d.secretCiphertext, sealContext(d.orgId, d.id));
    } catch {
      // Counted as failed attempts below, so the error shows on the destination.
    }
    for (;;) {
      if (stop.signal.aborted) return;
      const now = Date.now();
      if (m.leaseUntil - now < t.leaseMs / 2) {
        const until = await stream.acquireLease(db, d.id, holder, t.leaseMs);
        if (!until) {
          held.delete(d.id);
          return;
        }
        m.leaseUntil = now + t.leaseMs;
      }
      const batch = await nextBatch(d, m, now);
      if (batch.rows.length === 0) {
        m.cursor = batch.cursor;
        m.longCursor = batch.longCursor;
        const idle = (c: Cursor, saved: Cursor) => c.at.getTime() - saved.at.getTime() > IDLE_SAVE_MS;
        if (idle(m.cursor, m.saved.cursor) || idle(m.longCursor, m.saved.longCursor)) await save(d, m, batch, 0, 0);
        return;
      }
      const outcome = !validateBaseUrl(d.url, deps.allowedHosts).ok
        ? { status: null, retryable: false, error: "the URL is not allowed (SSRF checks)" }
        : secret === null
          ? { status: null, retryable: false, error: "the signing secret cannot be read; create the destination again" }
          : await postSigned({
              url: d.url,
              secret,
              body: `{"destinationId":${JSON.stringify(d.id)},"orgId":${JSON.stringify(d.orgId)},"rows":[${batch.parts.join(",")}]}`,
              dispatcher: deps.dispatcher,
              timeoutMs: t.timeoutMs,
              userAgent: "Tollgate-Logs/1",
              signal: stop.signal,
            });
      if (outcome.error === null) {
        if (!(await save(d, m, batch, batch.rows.length, 0))) return;
        failures = 0;
        failingSince = null;
        if (!batch.more) return;
        continue;
      }
      if (stop.signal.aborted) return; // shutting down: the batch is sent again by whoever resumes
      failures += 1;
      failingSince ??= new Date(now);
      const context = { destinationId: d.id, orgId: d.orgId, host: webhookHost(d.url), rows: batch.rows.length };
      if (failures >= t.maxAttempts || now - failingSince.getTime() >= t.deadLetterAfterMs) {
        const error = `batch of ${batch.rows.length} rows dead-lettered after ${failures} attempts: ${outcome.error}`;
        log.error({ ...context, attempts: failures, error: outcome.error }, "log destination batch dead-lettered");
        if (!(await save(d, m, batch, 0, batch.rows.length, error))) return;
        failures = 0;
        failingSince = null;
        continue;
      }
      const delay = backoff(failures);
      log.warn(
        { ...context, attempt: failures, retryInMs: delay, error: outcome.error },
        "log destination delivery failed",
      );
      await stream.recordFailure(db, d.id, holder, {
        error: outcome.error,
        failures,
        failingSince,
        nextAttemptAt: new Date(now + delay),
      });
      return;
    }
  }

  /** Saves the cursors past `batch`; false (and the memory dropped) when the lease was lost meanwhile. */
  async function save(
    d: DueDestination,
    m: Held,
    batch: { cursor: Cursor; longCursor: Cursor },
    delivered: number,
    deadLettered: number,
    error?: string,
  ): Promise<boolean> {
    const ok = await stream.saveProgress(db, d.id, holder, m.saved, {
      cursor: batch.cursor,
      longCursor: batch.longCursor,
      delivered,
      deadLettered,
      error,
    });
    if (!ok) {
      held.delete(d.id);
      return false;
    }
    m.cursor = batch.cursor;
    m.longCursor = batch.longCursor;
    m.saved = { cursor: batch.cursor, longCursor: batch.longCursor };
    return true;
  }

  /** When each destination's last run here ended: a listing read before that is stale for it. */
  const ended = new Map<string, number>();

  async function tick(): Promise<void> {
    const started = Date.now();
    const list = await stream.enabledDestinations(db);
    const now = Date.now();
    for (const [id, at] of ended) if (at < started) ended.delete(id);
    const listed = new Set(list.map((d) => d.id));
    for (const id of held.keys()) if (!listed.has(id) && !workers.has(id)) held.delete(id);
    for (const d of list) {
      if (stop.signal.aborted) return;
      if (workers.has(d.id) || ended.has(d.id)) continue;
      if (d.nextAttemptAt && d.nextAttemptAt.getTime() > now) continue;
      if (d.leaseHolder && d.leaseHolder !== holder && d.leaseUntil && d.leaseUntil.getTime() > now) continue;
      const w = work(d)
        .catch((err) =>
          log.warn({ destinationId: d.id, err: (err as Error).message }, "log destination delivery loop failed"),
        )
        .finally(() => {
          workers.delete(d.id);
          ended.set(d.id, Date.now());
        });
      workers.set(d.id, w);
    }
  }

  function schedule() {
    if (stop.signal.aborted) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((err) => log.warn({ err: (err as Error).message }, "log destinations poll failed"))
        .finally(() => {
          ticking = null;
          schedule();
        });
    }, t.pollMs);
    timer.unref();
  }
  schedule();

  return {
    /** Stops polling, ends sends in flight (their batches are resent by whoever resumes) and hands the leases back. */
    async close(): Promise<void> {
      stop.abort();
      if (timer) clearTimeout(timer);
      await ticking;
      await Promise.allSettled([...workers.values()]);
      await Promise.allSettled([...held.keys()].map((id) => stream.releaseLease(db, id, holder)));
      held.clear();
    },
  };
}
