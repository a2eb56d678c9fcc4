/**
 * Counters and histograms for the gateway's per-request metrics, registered on
 * the same prom-client registry and rendered by it, but updated without
 * prom-client's per-call work (it hashes the label object on every `inc` and
 * `observe`). A caller resolves a series once — `series(values)` — and keeps
 * it; updating it is then a number addition (a bucket search for histograms).
 * Label values must be bounded, as for any Prometheus metric.
 */
import type { Registry } from "prom-client";

type Labels = Record<string, string>;

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  names.forEach((n, i) => {
    labels[n] = values[i]!;
  });
  return labels;
}

/** One counter series: add to `value`. */
export interface CounterSeries {
  value: number;
}

/** One histogram series. */
export interface HistogramSeries {
  observe(value: number): void;
}

abstract class FastMetric<S> {
  readonly aggregator = "sum";
  protected readonly all = new Map<string, { labels: Labels; s: S }>();
  abstract readonly type: "counter" | "histogram";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry | undefined,
  ) {
    // prom-client's Registry renders any object with a name, a type and get().
    registry?.registerMetric(this as never);
  }

  /** The series for these label values (in `labelNames` order), created on first use. */
  series(values: readonly string[]): S {
    const key = values.join("\u0000");
    let found = this.all.get(key);
    if (!found) {
      found = { labels: labelsOf(this.labelNames, values), s: this.create() };
      this.all.set(key, found);
    }
    return found.s;
  }

  protected abstract create(): S;
  abstract get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Array<{ labels: Labels; value: number; metricName?: string }>;
  };
}

export class FastCounter extends FastMetric<CounterSeries> {
  readonly type = "counter";
  protected create(): CounterSeries {
    return { value: 0 };
  }
  get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.all.values()].map(({ labels, s }) => ({ labels, value: s.value })),
    };
  }
}

class Buckets implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Non-cumulative here; rendering accumulates.
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export class FastHistogram extends FastMetric<HistogramSeries> {
  readonly type = "histogram";
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry | undefined,
  ) {
    super(name, help, labelNames, registry);
  }
  protected create(): HistogramSeries {
    return new Buckets(this.bounds);
  }
  get() {
    const values: Array<{ labels: Labels; value: number; metricName: string }> = [];
    for (const { labels, s } of this.all.values()) {
      const b = s as Buckets;
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += b.counts[i]!;
        values.push({ labels: { le: String(le), ...labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", ...labels }, value: b.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: b.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: b.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
