import { describe, expect, it } from "vitest";
import { weightedOrder } from "./weighted.js";

const creds = [
  { id: "a", weight: 3 },
  { id: "b", weight: 1 },
  { id: "c", weight: 1 },
];

describe("weightedOrder", () => {
  it("picks the first by weight and keeps every other behind it", () => {
    const ids = (r: number[]) => {
      let i = 0;
      return weightedOrder(creds, () => r[i++]!).map((c) => c.id);
    };
    // Total weight 5: [0, 0.6) → a, [0.6, 0.8) → b, [0.8, 1) → c.
    expect(ids([0.1, 0.1])).toEqual(["a", "b", "c"]);
    expect(ids([0.59, 0.9])).toEqual(["a", "c", "b"]);
    expect(ids([0.61, 0.5])).toEqual(["b", "a", "c"]);
    expect(ids([0.99, 0.99])).toEqual(["c", "b", "a"]);
    expect(weightedOrder([{ id: "only", weight: 7 }]).map((c) => c.id)).toEqual(["only"]);
  });

  it("sends each credential its share of first picks", () => {
    const firsts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) firsts[weightedOrder(creds)[0]!.id]! += 1;
    expect(firsts.a! / 10_000).toBeCloseTo(0.6, 1);
    expect(firsts.b! / 10_000).toBeCloseTo(0.2, 1);
    expect(firsts.c! / 10_000).toBeCloseTo(0.2, 1);
  });
});
