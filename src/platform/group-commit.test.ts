import { describe, expect, it } from "vitest";
import { createGroupCommit } from "./group-commit.js";

describe("group commit", () => {
  it("rows added in the same turn of the event loop go in one write; those added during a write in the next; each caller waits for its own", async () => {
    const writes: number[][] = [];
    let release: (() => void) | null = null;
    const add = createGroupCommit<number>(async (rows) => {
      writes.push(rows);
      if (rows[0] === 1) await new Promise<void>((r) => (release = r));
    });
    let firstDone = false;
    const first = add(1).then(() => (firstDone = true));
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([[1]]);
    const rest = [add(2), add(3), add(4)];
    await Promise.resolve();
    expect(firstDone).toBe(false);
    release!();
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([[1], [2, 3, 4]]);
    // Rows added together before the loop turns go together.
    await Promise.all([add(5), add(6)]);
    expect(writes.at(-1)).toEqual([5, 6]);
  });

  it("a failed write rejects the rows it held, and only those", async () => {
    const add = createGroupCommit<string>(async (rows) => {
      if (rows.includes("bad")) throw new Error("constraint");
    });
    const bad = add("bad");
    await expect(bad).rejects.toThrow("constraint");
    await expect(add("good")).resolves.toBeUndefined();
  });

  it("batches stay under the limit", async () => {
    const sizes: number[] = [];
    let gate: (() => void) | null = null;
    const add = createGroupCommit<number>(async (rows) => {
      sizes.push(rows.length);
      if (sizes.length === 1) await new Promise<void>((r) => (gate = r));
    }, 2);
    const all = [0, 1, 2, 3, 4].map((n) => add(n));
    await new Promise((r) => setImmediate(r));
    gate!();
    await Promise.all(all);
    expect(sizes).toEqual([2, 2, 1]);
  });
});
