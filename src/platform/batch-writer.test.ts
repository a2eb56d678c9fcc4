import { describe, expect, it } from "vitest";
import { createBatchWriter } from "./batch-writer.js";

describe("batch writer", () => {
  it("writes in batches and flushes everything on close", async () => {
    const batches: number[][] = [];
    const w = createBatchWriter<number>({
      name: "t",
      batchSize: 3,
      intervalMs: 60_000,
      write: async (r) => void batches.push(r),
      deadLetter: async () => {},
    });
    for (let i = 0; i < 7; i++) w.enqueue(i);
    await w.close();
    expect(batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(3);
    expect(w.stats()).toMatchObject({ written: 7, queued: 0, deadLettered: 0 });
  });

  it("under steady load writes full batches, not a tiny batch of whatever arrived during the last write", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const w = createBatchWriter<number>({
      name: "t",
      batchSize: 4,
      intervalMs: 60_000,
      write: async (r) => {
        batches.push(r);
        await new Promise<void>((res) => (release = res));
      },
      deadLetter: async () => {},
    });
    for (let i = 0; i < 4; i++) w.enqueue(i); // a full batch starts a write
    await Promise.resolve();
    w.enqueue(4); // arrives while the write runs
    w.enqueue(5);
    release();
    await new Promise((r) => setTimeout(r, 20));
    // The two stragglers wait for the next tick or a full batch.
    expect(batches).toEqual([[0, 1, 2, 3]]);
    expect(w.stats().queued).toBe(2);
    for (let i = 6; i < 8; i++) w.enqueue(i); // now a full batch again
    await new Promise((r) => setTimeout(r, 0));
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    const closing = w.close();
    release();
    await closing;
    expect(w.stats()).toMatchObject({ written: 8, queued: 0 });
  });

  it("retries a failed batch in order and loses nothing", async () => {
    const written: number[] = [];
    let failures = 2;
    const w = createBatchWriter<number>({
      name: "t",
      batchSize: 2,
      intervalMs: 60_000,
      write: async (rows) => {
        if (failures-- > 0) throw new Error("db down");
        written.push(...rows);
      },
      deadLetter: async () => {},
    });
    for (const i of [1, 2, 3, 4, 5]) w.enqueue(i);
    await w.close();
    expect(written).toEqual([1, 2, 3, 4, 5]);
    expect(w.stats().failedFlushes).toBe(2);
  });

  it("dead-letters a batch that keeps failing, and rows beyond the queue bound", async () => {
    const dead: number[] = [];
    const w = createBatchWriter<number>({
      name: "t",
      batchSize: 10,
      maxQueue: 3,
      maxAttempts: 2,
      intervalMs: 60_000,
      write: async () => {
        throw new Error("constraint violation");
      },
      deadLetter: async (rows) => void dead.push(...rows),
    });
    for (const i of [1, 2, 3, 4]) w.enqueue(i);
    expect(dead).toEqual([4]);
    await w.close();
    expect(dead.sort()).toEqual([1, 2, 3, 4]);
    expect(w.stats()).toMatchObject({ deadLettered: 4, queued: 0 });
  });

  it("warns when the queue backs up past half its bound", async () => {
    const warnings: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = createBatchWriter<number>({
      name: "t",
      batchSize: 1000,
      maxQueue: 10,
      intervalMs: 60_000,
      write: () => gate,
      deadLetter: async () => {},
      onBacklog: (n) => void warnings.push(n),
    });
    for (let i = 0; i < 8; i++) w.enqueue(i);
    expect(warnings).toEqual([6]);
    release();
    await w.close();
    expect(w.stats()).toMatchObject({ written: 8, queued: 0 });
  });
});
