/**
 * The speed targets as PASS/MISS lines: each Tollgate target against the bare proxy and
 * Portkey of the same run, the strict pipeline, the bare proxy against the plain one, and memory.
 */
import type { TargetName } from "./config.js";
import { hasScenario } from "./load.js";
import { fmt, fmtInt } from "./stats.js";
import { isStrict } from "./targets.js";

export interface Cell {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
  cpuUs: number;
  firstByteP50: number;
  rssMiB: number;
}
export type CellOf = (t: TargetName, scenario: string) => Cell;

/** RSS ceiling: the server with its database in-process (PGlite) or on PostgreSQL. */
export const rssLimitMiB = (t: TargetName) => (t.startsWith("tollgate-pg") ? 150 : 250);
export const dbLabel = (t: TargetName) => (t.startsWith("tollgate-pg") ? "PostgreSQL" : "PGlite");

/** `- label: figure PASS|MISS  (detail)`: a markdown list item, readable in a terminal too. */
export const verdict = (label: string, figure: string, pass: boolean, detail = "") =>
  `- ${label}: ${figure} ${pass ? "PASS" : "MISS"}${detail ? `  (${detail})` : ""}`;

const BARE_THROUGHPUT = { ns32: 0.6, s32: 0.5 } as const;
const PORTKEY_THROUGHPUT = 8;
const FIRST_BYTE_ADDED_MS = 0.3;
const CPU_VS_BARE = 1.5;
const STRICT_VS_BARE = 0.4;
const BARE_VS_PLAIN = 1.2;
const WHAT = { ns32: "non-streaming c=32", s32: "streaming c=32" } as const;
const C32 = ["ns32", "s32"] as const;

function tollgateLines(t: TargetName, ran: (t: TargetName) => boolean, cell: CellOf, lastScenario: string): string[] {
  const lines: string[] = [];
  for (const id of C32.filter(hasScenario)) {
    const tg = cell(t, id);
    if (ran("bare")) {
      const b = cell("bare", id);
      const r = tg.rps / b.rps;
      lines.push(
        verdict(
          `${WHAT[id]} throughput ≥ ${BARE_THROUGHPUT[id]}× bare`,
          `${fmt(r)}×`,
          r >= BARE_THROUGHPUT[id],
          `${fmtInt(tg.rps)} / ${fmtInt(b.rps)} req/s`,
        ),
      );
    }
    if (ran("portkey")) {
      const p = cell("portkey", id);
      const r = tg.rps / p.rps;
      lines.push(
        verdict(
          `${WHAT[id]} throughput ≥ ${PORTKEY_THROUGHPUT}× Portkey`,
          `${fmt(r, 1)}×`,
          r >= PORTKEY_THROUGHPUT,
          `${fmtInt(tg.rps)} / ${fmtInt(p.rps)} req/s`,
        ),
      );
    }
  }
  if (ran("bare") && hasScenario("s1")) {
    const tg = cell(t, "s1").firstByteP50;
    const b = cell("bare", "s1").firstByteP50;
    lines.push(
      verdict(
        `first byte added at c=1 (streaming) ≤ ${FIRST_BYTE_ADDED_MS} ms`,
        `${fmt(tg - b, 3)} ms`,
        tg - b <= FIRST_BYTE_ADDED_MS,
        `p50 ${fmt(tg, 3)} against bare ${fmt(b, 3)} ms`,
      ),
    );
  }
  if (ran("bare"))
    for (const id of C32.filter(hasScenario)) {
      const tg = cell(t, id).cpuUs;
      const b = cell("bare", id).cpuUs;
      lines.push(
        verdict(
          `CPU per request ≤ ${CPU_VS_BARE}× bare (${WHAT[id]})`,
          `${fmt(tg / b)}×`,
          tg / b <= CPU_VS_BARE,
          `${fmtInt(tg)} / ${fmtInt(b)} µs`,
        ),
      );
    }
  lines.push(rssLine(t, cell(t, lastScenario).rssMiB));
  return lines;
}

function rssLine(t: TargetName, mib: number): string {
  const limit = rssLimitMiB(t);
  const what = `${dbLabel(t)}${isStrict(t) ? ", strict policy + bodies" : ""}`;
  return verdict(`RSS after load < ${limit} MiB (${what})`, `${fmt(mib, 1)} MiB`, mib < limit);
}

/**
 * The verdict lines of one run, grouped per Tollgate target (`tollgate`, `tollgate-pg`, each with its
 * strict variant), then the floor; `floor`: the bare proxy's CPU/req at c=32, this machine's floor.
 */
export function verdictLines(
  targets: TargetName[],
  cell: CellOf,
  lastScenario: (t: TargetName) => string | undefined,
): { lines: string[]; floor: string } {
  const ran = (t: TargetName) => targets.includes(t);
  const lines: string[] = [];
  for (const base of ["tollgate", "tollgate-pg"] as const) {
    const strict = `${base}-strict` as const;
    if (!ran(base) && !ran(strict)) continue;
    lines.push("", `### Verdicts: ${base} (${dbLabel(base)})`, "");
    const last = lastScenario(base);
    if (ran(base) && last) lines.push(...tollgateLines(base, ran, cell, last));
    if (ran(strict) && ran("bare") && hasScenario("ns32")) {
      const s = cell(strict, "ns32");
      const b = cell("bare", "ns32");
      lines.push(
        verdict(
          `strict policy + bodies ≥ ${STRICT_VS_BARE}× bare (non-streaming c=32)`,
          `${fmt(s.rps / b.rps)}×`,
          s.rps / b.rps >= STRICT_VS_BARE,
          `${strict} ${fmtInt(s.rps)} / bare ${fmtInt(b.rps)} req/s, ${fmtInt(s.cpuUs)} µs/req`,
        ),
      );
    }
    const strictLast = lastScenario(strict);
    if (ran(strict) && strictLast) lines.push(rssLine(strict, cell(strict, strictLast).rssMiB));
  }
  let floor = "";
  if (ran("bare")) {
    const c32 = C32.filter(hasScenario);
    if (ran("plain") && c32.length) {
      lines.push("", "### Verdicts: the floor", "");
      for (const id of c32) {
        const b = cell("bare", id).cpuUs;
        const p = cell("plain", id).cpuUs;
        lines.push(
          verdict(
            `bare proxy CPU/req ≤ ${BARE_VS_PLAIN}× plain (${WHAT[id]})`,
            `${fmt(b / p)}×`,
            b / p <= BARE_VS_PLAIN,
            `${fmtInt(b)} / ${fmtInt(p)} µs`,
          ),
        );
      }
    }
    if (c32.length)
      floor = `floor (the bare proxy's CPU per request): ${c32.map((id) => `${fmtInt(cell("bare", id).cpuUs)} µs ${WHAT[id]}`).join(", ")}`;
  }
  return { lines, floor };
}
