/**
 * Batched, asynchronous writes for the hot path (request logs, key last-used
 * times, usage): callers enqueue and return at once; rows are written in
 * batches every `intervalMs` or when `batchSize` rows wait.
 *
 * Nothing is dropped silently:
 *  - a failed batch is retried with backoff, in order, ahead of newer rows;
 *  - when the queue is full (the database is down or slow) or a batch fails
 *    `maxAttempts` times, its rows go to the dead-letter sink (a JSONL file in
 *    the data dir) and are counted, so an operator can replay them;
 *  - `close()` flushes everything before the database is closed.
 */

export interface BatchWriterStats {
  queued: number;
  written: number;
  deadLettered: number;
  failedFlushes: number;
}

export interface BatchWriter<T> {
  enqueue(row: T): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): BatchWriterStats;
}

export interface BatchWriterOptions<T> {
  name: string;
  write(rows: T[]): Promise<void>;
  deadLetter(rows: T[], reason: string): Promise<void>;
  onError?(err: unknown, attempt: number): void;
  /** Called (at most once a minute) while the queue is more than half full: the database is not keeping up. */
  onBacklog?(queued: number): void;
  batchSize?: number;
  maxQueue?: number;
  intervalMs?: number;
  maxAttempts?: number;
}

export function createBatchWriter<T>(opts: BatchWriterOptions<T>): BatchWriter<T> {
  const batchSize = opts.batchSize ?? 500;
  const maxQueue = opts.maxQueue ?? 50_000;
  const maxAttempts = opts.maxAttempts ?? 5;
  let queue: T[] = [];
  let flushing: Promise<void> | null = null;
  let attempt = 0;
  let retryAt = 0;
  let lastBacklogWarning = 0;
  const stats: BatchWriterStats = { queued: 0, written: 0, deadLettered: 0, failedFlushes: 0 };

  const timer = setInterval(() => void flush().catch(() => {}), opts.intervalMs ?? 1000);
  timer.unref();

  async function deadLetter(rows: T[], reason: string) {
    stats.deadLettered += rows.length;
    try {
      await opts.deadLetter(rows, reason);
    } catch (err) {
      opts.onError?.(err, -1);
    }
  }

  /**
   * Writes what is queued. A forced drain (flush, close) writes everything; otherwise one
   * batch, then only full batches: rows that arrived during a write wait for the next tick
   * or a full batch, so a busy server writes big batches instead of one tiny write per
   * handful of rows (which cost more than everything else the rows' requests did).
   */
  async function drain(force: boolean): Promise<void> {
    let first = true;
    while (queue.length > 0) {
      if (!force && Date.now() < retryAt) return;
      if (!force && !first && queue.length < batchSize) return;
      first = false;
      const batch = queue.slice(0, batchSize);
      try {
        await opts.write(batch);
        queue = queue.slice(batch.length);
        stats.written += batch.length;
        attempt = 0;
        retryAt = 0;
      } catch (err) {
        attempt += 1;
        stats.failedFlushes += 1;
        opts.onError?.(err, attempt);
        if (attempt >= maxAttempts) {
          queue = queue.slice(batch.length);
          attempt = 0;
          await deadLetter(batch, `write failed ${maxAttempts} times: ${(err as Error).message ?? String(err)}`);
          continue;
        }
        retryAt = Date.now() + Math.min(30_000, 250 * 2 ** attempt);
        if (!force) return;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  /** A tick came while a write was running: one more drain follows it (a row waits about one interval at most). */
  let tickPending = false;
  function flush(force = false): Promise<void> {
    if (flushing) {
      if (force) return flushing.then(() => flush(true));
      tickPending = true;
      return flushing;
    }
    flushing = drain(force).finally(() => {
      flushing = null;
      stats.queued = queue.length;
      if (tickPending) {
        tickPending = false;
        void flush().catch(() => {});
      }
    });
    return flushing;
  }

  return {
    enqueue(row) {
      if (queue.length >= maxQueue) {
        // Backed up: keep memory bounded without losing the row.
        void deadLetter([row], "queue full");
        return;
      }
      queue.push(row);
      stats.queued = queue.length;
      if (queue.length > maxQueue / 2 && opts.onBacklog && Date.now() - lastBacklogWarning > 60_000) {
        lastBacklogWarning = Date.now();
        opts.onBacklog(queue.length);
      }
      if (queue.length >= batchSize && !flushing) void flush().catch(() => {});
    },
    flush: () => flush(true),
    async close() {
      clearInterval(timer);
      await flush(true);
    },
    stats: () => ({ ...stats, queued: queue.length }),
  };
}
