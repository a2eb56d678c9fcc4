/**
 * The run's report: the results table (median over rounds), Tollgate's ratios to the other targets,
 * the verdicts. Everything printed through `out` is also kept for `--record`.
 */
import os from "node:os";
import type { TargetName } from "./config.js";
import { hasScenario, runs, SCENARIOS } from "./load.js";
import type { Measurement } from "./measurement.js";
import { fmt, fmtInt, median } from "./stats.js";
import { isTollgate } from "./targets.js";
import { type Cell, verdictLines } from "./verdicts.js";

const kept: string[] = [];

/** Prints a line of the report and keeps it for the record. */
export function out(line = ""): void {
  console.log(line);
  kept.push(line);
}
export const reportLines = (): readonly string[] => kept;

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, node ${process.version}`;
}

export const load1 = () => os.loadavg()[0]!.toFixed(2);

/** One line per finished scenario while the run goes on (not recorded). */
export function progressLine(round: number, name: string, label: string, m: Measurement): string {
  const fb = m.firstByteP50 === undefined ? "" : `  first byte p50 ${fmt(m.firstByteP50, 3)} ms`;
  return `round ${round + 1}  ${name.padEnd(18)}  ${label.padEnd(20)}  ${fmtInt(m.rps).padStart(7)} req/s  p50 ${fmt(m.p50)} ms  p99 ${fmt(m.p99)} ms${fb}  cpu ${fmtInt(m.cpuUs)} µs/req  RSS ${fmt(m.rssMiB ?? NaN, 1)} MiB${m.bad ? `  (${m.bad} errors/non-2xx)` : ""}  load ${load1()}`;
}

/** Prints the tables and verdicts of the run; returns the floor line (the bare proxy's CPU/req). */
export function printResults(
  targets: TargetName[],
  results: Map<string, Measurement[]>,
  rounds: number,
  duration: number,
): string {
  const cell = (t: TargetName, s: string): Cell => {
    const ms = results.get(`${t}:${s}`) ?? [];
    const med = (f: (m: Measurement) => number | undefined) => median(ms.map((m) => f(m) ?? NaN));
    return {
      rps: med((m) => m.rps),
      p50: med((m) => m.p50),
      p99: med((m) => m.p99),
      bad: ms.reduce((a, m) => a + m.bad, 0),
      cpuUs: med((m) => m.cpuUs),
      firstByteP50: med((m) => m.firstByteP50),
      rssMiB: med((m) => m.rssMiB),
    };
  };
  const ran = (t: TargetName) => targets.includes(t);
  const lastScenario = (t: TargetName) => (ran(t) ? SCENARIOS.filter((s) => runs(t, s)).at(-1)?.id : undefined);

  out(`## Results (median of ${rounds} round(s), ${duration}s each)`);
  out();
  out(
    "| target | scenario | req/s | p50 (ms) | p99 (ms) | first byte p50 (ms) | CPU µs/req | RSS after load (MiB) | errors |",
  );
  out("|---|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const t of targets)
    for (const s of SCENARIOS.filter((x) => runs(t, x))) {
      const c = cell(t, s.id);
      out(
        `| ${t} | ${s.label} | ${fmtInt(c.rps)} | ${fmt(c.p50, 3)} | ${fmt(c.p99, 3)} | ${fmt(c.firstByteP50, 3)} | ${fmtInt(c.cpuUs)} | ${fmt(c.rssMiB, 1)} | ${c.bad} |`,
      );
    }
  out();
  out("RSS after load: the process's VmRSS at the end of each scenario (the verdicts use its last scenario).");

  for (const tg of targets.filter(isTollgate)) {
    out();
    out(`### ${tg}`);
    out();
    out("| scenario | Tollgate / bare (req/s) | Tollgate / Portkey (req/s) | Tollgate p50 − bare p50 (ms) |");
    out("|---|---:|---:|---:|");
    for (const s of SCENARIOS.filter((x) => !x.cache && runs(tg, x))) {
      const c = cell(tg, s.id);
      const bare = ran("bare") ? cell("bare", s.id) : null;
      const pk = ran("portkey") ? cell("portkey", s.id) : null;
      out(
        `| ${s.label} | ${bare ? `${fmt((c.rps / bare.rps) * 100, 0)} %` : "–"} | ${pk ? `${fmt(c.rps / pk.rps, 1)}×` : "–"} | ${bare ? fmt(c.p50 - bare.p50, 3) : "–"} |`,
      );
    }
    if (hasScenario("chit32") && hasScenario("cmiss32") && runs(tg, SCENARIOS.find((s) => s.id === "chit32")!)) {
      const hit = cell(tg, "chit32");
      const miss = cell(tg, "cmiss32");
      out();
      out(
        `response cache (${tg}): a hit costs ${fmtInt(hit.cpuUs)} µs of CPU, a miss ${fmtInt(miss.cpuUs)} µs (${fmt(hit.cpuUs / miss.cpuUs, 2)}×); ${fmtInt(hit.rps)} vs ${fmtInt(miss.rps)} req/s`,
      );
    }
  }

  const { lines, floor } = verdictLines(targets, cell, lastScenario);
  for (const l of lines) out(l);
  // Printed, not kept: the record puts the floor at the top of its section.
  if (floor) console.log(`\n${floor}`);
  return floor;
}
