/**
 * The scenarios and the load runs: autocannon for the concurrent ones (latencies from every 2xx
 * response time it reports, float ms), a sequential client for `s1` (bench/lib/first-byte.ts).
 */
import autocannon from "autocannon";
import { SCENARIO_IDS, type TargetName } from "./config.js";
import { sequentialStream } from "./first-byte.js";
import type { Measurement, Scenario } from "./measurement.js";
import { cpuMs } from "./processes.js";
import { percentile } from "./stats.js";
import { bodyFor, isStrict, isTollgate, type Target, urlFor } from "./targets.js";

const ALL_SCENARIOS: Scenario[] = [
  { id: "ns1", label: "non-streaming, c=1", stream: false, connections: 1 },
  { id: "s1", label: "streaming, c=1", stream: true, connections: 1, firstByte: true },
  { id: "ns32", label: "non-streaming, c=32", stream: false, connections: 32 },
  { id: "s32", label: "streaming, c=32", stream: true, connections: 32 },
  { id: "rns32", label: "responses, c=32", stream: false, connections: 32, api: "responses" },
  { id: "rs32", label: "responses stream, c=32", stream: true, connections: 32, api: "responses" },
  { id: "chit32", label: "cache hit, c=32", stream: false, connections: 32, cache: "hit" },
  { id: "cmiss32", label: "cache miss, c=32", stream: false, connections: 32, cache: "miss" },
  { id: "schit32", label: "cache hit stream, c=32", stream: true, connections: 32, cache: "hit" },
];
/** Non-streaming at c=32: the warm-up load and the soak's. */
export const NS32 = ALL_SCENARIOS.find((s) => s.id === "ns32")!;
export const SCENARIOS = ALL_SCENARIOS.filter((s) => SCENARIO_IDS.includes(s.id));
export const hasScenario = (id: string) => SCENARIOS.some((s) => s.id === id);

/**
 * Which targets run a scenario: the cache scenarios are Tollgate's own (on a project with the cache
 * on); the strict targets (strict policy + logged bodies) run the c=32 chat scenarios only.
 */
export function runs(t: TargetName, s: Scenario): boolean {
  if (isStrict(t)) return s.id === "ns32" || s.id === "s32";
  return !s.cache || isTollgate(t);
}

/** One autocannon run; latencies from every 2xx response (float ms). */
function autocannonRun(t: Target, s: Scenario, seconds: number, onTick?: () => void): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    let bad = 0;
    const pid = t.proc.child.pid!;
    const cpu0 = cpuMs(pid);
    const instance = autocannon(
      {
        url: urlFor(t, s.api),
        method: "POST",
        headers: { ...(s.cache ? t.cacheHeaders : t.headers), "content-type": "application/json" },
        // A miss: autocannon puts a new id in every request's message (`idReplacement`).
        body:
          s.cache === "miss"
            ? bodyFor(t.name, s.stream).replace("foxes", "foxes [<id>]")
            : bodyFor(t.name, s.stream, s.api),
        idReplacement: s.cache === "miss",
        connections: s.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (err, result) => {
        if (err) return reject(err);
        const sorted = Float64Array.from(times).sort();
        const cpuUs = times.length ? ((cpuMs(pid) - cpu0) * 1000) / times.length : NaN;
        resolve({
          rps: times.length / result.duration,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          bad: bad + result.errors + result.timeouts,
          cpuUs,
        });
      },
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) times.push(ms);
      else bad++;
    });
    if (onTick) instance.on("tick", onTick);
  });
}

/** Runs one scenario against a target for `seconds`. */
export function load(t: Target, s: Scenario, seconds: number): Promise<Measurement> {
  return s.firstByte ? sequentialStream(t, s, seconds) : autocannonRun(t, s, seconds);
}
