/**
 * Group commit: writes that a caller must wait for (the row is readable once
 * the promise resolves), coalesced. A write starts at once when none is under
 * way; the rows added while one is under way go together in the next, so a
 * busy server writes a few large statements instead of one per row, and an
 * idle one waits for nothing. A failed statement rejects the writes it held
 * (and only those).
 */
export function createGroupCommit<T>(write: (rows: T[]) => Promise<void>, maxBatch = 500): (row: T) => Promise<void> {
  let queue: Array<{ row: T; done(err?: unknown): void }> = [];
  let running = false;

  async function run(): Promise<void> {
    running = true;
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
    running = false;
  }

  return (row) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!running) void run();
    });
}
