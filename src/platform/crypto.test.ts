import { describe, expect, it } from "vitest";
import { newTimeId } from "./crypto.js";

describe("newTimeId", () => {
  it("gives distinct RFC 9562 version 7 UUIDs that sort by the millisecond they were made in", async () => {
    const first = Array.from({ length: 1000 }, newTimeId); // spans several refills of the random pool
    await new Promise((r) => setTimeout(r, 5));
    const later = newTimeId();
    expect(new Set([...first, later]).size).toBe(1001);
    for (const id of [...first, later])
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.every((id) => id < later)).toBe(true);
    const ms = Number.parseInt(later.replace(/-/g, "").slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(1000);
  });
});
