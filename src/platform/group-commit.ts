/**
 * Group commit: writes that a caller must wait for (the row is readable once
 * the promise resolves), coalesced. A write starts after the event loop's
 * pending I/O has run (setImmediate), so the rows of every request that got
 * that far meanwhile go in one statement; rows added while a write is under
 * way go together in the next. A busy server writes a few large statements
 * instead of one per row — on the embedded database a statement runs on the
 * event loop itself, so without the wait no two rows would ever meet — and an
 * idle one waits one turn of the loop. A failed statement rejects the writes
 * it held (and only those).
 */
export function createGroupCommit<T>(write: (rows: T[]) => Promise<void>, maxBatch = 500): (row: T) => Promise<void> {
  let queue: Array<{ row: T; done(err?: unknown): void }> = [];
  let scheduled = false;

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        await write(batch.map((b) => b.row));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err ?? new Error("write failed"));
      }
    }
    scheduled = false;
  }

  return (row) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void run());
      }
    });
}
