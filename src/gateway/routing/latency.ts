/**
 * Measured latency per target (`provider/model`), for the least-latency
 * strategy: the time each successful attempt took to answer (the first chunk,
 * for a stream), over a sliding window of the last SAMPLES answers within
 * WINDOW_MS. The median is what targets are ordered by. Per replica on
 * purpose, like the circuit breakers: it is what this process observes.
 * A target without a recent sample sorts first, so a new or long-idle target
 * is measured again rather than left out for good.
 */

const SAMPLES = 32;
const WINDOW_MS = 5 * 60_000;

interface Series {
  ms: Float64Array;
  at: Float64Array;
  next: number;
  count: number;
  /** The cached median (NaN: stale) and when it was computed (a cached one is reused for a second). */
  median: number;
  computedAt: number;
}

export interface LatencyTracker {
  record(target: string, ms: number): void;
  /** The median over the window, or null without a recent sample. */
  median(target: string): number | null;
  /** `items` ordered fastest first (unmeasured ones first of all, in their given order). */
  fastestFirst<T>(items: readonly T[], nameOf: (item: T) => string): T[];
}

export function createLatencyTracker(now: () => number = Date.now): LatencyTracker {
  const series = new Map<string, Series>();

  function median(target: string): number | null {
    const s = series.get(target);
    if (!s || s.count === 0) return null;
    const t = now();
    if (!Number.isNaN(s.median) && t - s.computedAt < 1_000) return s.median;
    const cutoff = t - WINDOW_MS;
    const recent: number[] = [];
    for (let i = 0; i < s.count; i++) if (s.at[i]! >= cutoff) recent.push(s.ms[i]!);
    s.computedAt = t;
    if (recent.length === 0) {
      s.median = Number.NaN;
      return null;
    }
    recent.sort((a, b) => a - b);
    const mid = recent.length >> 1;
    s.median = recent.length % 2 ? recent[mid]! : (recent[mid - 1]! + recent[mid]!) / 2;
    return s.median;
  }

  return {
    record(target, ms) {
      let s = series.get(target);
      if (!s) {
        if (series.size >= 10_000) series.clear();
        s = {
          ms: new Float64Array(SAMPLES),
          at: new Float64Array(SAMPLES),
          next: 0,
          count: 0,
          median: Number.NaN,
          computedAt: 0,
        };
        series.set(target, s);
      }
      s.ms[s.next] = ms;
      s.at[s.next] = now();
      s.next = (s.next + 1) % SAMPLES;
      if (s.count < SAMPLES) s.count++;
      s.median = Number.NaN;
    },
    median,
    fastestFirst(items, nameOf) {
      const keyed = items.map((item, i) => ({ item, i, m: median(nameOf(item)) }));
      keyed.sort((a, b) =>
        a.m === null ? (b.m === null ? a.i - b.i : -1) : b.m === null ? 1 : a.m - b.m || a.i - b.i,
      );
      return keyed.map((k) => k.item);
    },
  };
}
