/**
 * `--record`: this run's results as a new section of docs/benchmarks.md, just before the first
 * existing `## Results` heading (after "How to run", "Warm-up" and the Portkey note).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { COMMAND, ROOT } from "./config.js";

export interface Recording {
  startedAt: Date;
  machine: string;
  loadAtStart: string;
  loads: string[];
  floor: string;
  lines: readonly string[];
}

const pad = (n: number) => String(n).padStart(2, "0");

export function record(r: Recording): string {
  const file = path.join(ROOT, "docs/benchmarks.md");
  const d = r.startedAt;
  const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  // The report's own headings sit one level below the section's.
  const body = r.lines.map((l) => (/^#+ /.test(l) ? `#${l}` : l));
  while (body[0] === "") body.shift();
  const section = [
    `## Results, ${stamp} UTC (recorded by the driver)`,
    "",
    `\`${COMMAND}\``,
    "",
    `machine: ${r.machine}; load average (1 min) at start ${r.loadAtStart}, after each scenario ${r.loads.join(", ") || "–"}`,
    ...(r.floor ? ["", `${r.floor}.`] : []),
    "",
    ...body,
    "",
    "",
  ].join("\n");
  const doc = readFileSync(file, "utf8");
  const at = doc.search(/^## Results/m);
  const next = at < 0 ? `${doc.replace(/\n*$/, "\n\n")}${section}` : doc.slice(0, at) + section + doc.slice(at);
  writeFileSync(file, next);
  return file;
}
