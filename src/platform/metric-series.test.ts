import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastCounter, FastHistogram } from "./metric-series.js";

const BUCKETS = [0.005, 0.01, 0.1, 1, 10];

/** The exposition lines of one metric, with its name replaced (to compare two registries). */
async function lines(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .map((l) => l.replace(name, "m"))
    .sort();
}

describe("fast metric series", () => {
  it("render exactly what prom-client's own counter and histogram render for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fc = new FastCounter("fast_total", "h", ["provider", "model"], ours);
    const pc = new Counter({ name: "prom_total", help: "h", labelNames: ["provider", "model"], registers: [theirs] });
    const fh = new FastHistogram("fast_seconds", "h", ["endpoint"], BUCKETS, ours);
    const ph = new Histogram({
      name: "prom_seconds",
      help: "h",
      labelNames: ["endpoint"],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const values = [0, 0.004, 0.005, 0.0051, 0.5, 1, 3, 10, 11, 250];
    for (const [i, v] of values.entries()) {
      const endpoint = i % 3 === 0 ? "chat" : "messages";
      fh.series([endpoint]).observe(v);
      ph.observe({ endpoint }, v);
      const model = i % 2 ? "a/x" : "b/y";
      fc.series(["p", model]).value += i;
      pc.inc({ provider: "p", model }, i);
    }
    expect(await lines(ours, "fast_seconds")).toEqual(await lines(theirs, "prom_seconds"));
    expect(await lines(ours, "fast_total")).toEqual(await lines(theirs, "prom_total"));
    expect(await lines(ours, "fast_seconds")).toContain('m_bucket{le="0.005",endpoint="messages"} 2');
  });

  it("resolves the same series for the same label values", () => {
    const c = new FastCounter("c_total", "h", ["a"], new Registry());
    c.series(["x"]).value++;
    c.series(["x"]).value++;
    expect(c.series(["x"]).value).toBe(2);
    expect(c.series(["y"]).value).toBe(0);
  });
});
