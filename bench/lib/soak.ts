/**
 * `--soak N`: one Tollgate (`--soak-target tollgate|tollgate-pg`) alone under non-streaming c=32
 * load for N seconds, RSS every 10 s; growth from minute 2 to the end (the target's window, for
 * N ≥ 600) or from minute 1 / a third of N for shorter soaks, and the peak after that point.
 */
import { SOAK, SOAK_TARGET } from "./config.js";
import { load, NS32 } from "./load.js";
import { rssKb, stop } from "./processes.js";
import { load1, out } from "./report.js";
import { fmt, fmtInt } from "./stats.js";
import { startTollgate } from "./tollgate-target.js";
import { dbLabel, rssLimitMiB, verdict } from "./verdicts.js";

const GROWTH_LIMIT = 5;

export async function soak(mockUrl: string): Promise<void> {
  const baselineAt = SOAK >= 600 ? 120 : Math.min(60, Math.floor(SOAK / 3));
  out();
  out(
    `## Soak: ${SOAK_TARGET} (${dbLabel(SOAK_TARGET)}) alone, non-streaming c=32, ${SOAK}s, RSS every 10 s (baseline at ${baselineAt}s)`,
  );
  out();
  const t = await startTollgate(mockUrl, SOAK_TARGET);
  const pid = t.proc.child.pid!;
  const samples: Array<{ s: number; kb: number }> = [{ s: 0, kb: rssKb(pid) }];
  const started = Date.now();
  const timer = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    const kb = rssKb(pid);
    samples.push({ s, kb });
    console.log(`  t=${String(s).padStart(4)}s  RSS ${(kb / 1024).toFixed(1)} MiB  load ${load1()}`);
  }, 10_000);
  try {
    const m = await load(t, NS32, SOAK);
    clearInterval(timer);
    samples.push({ s: Math.round((Date.now() - started) / 1000), kb: rssKb(pid) });
    const base = samples.reduce((best, x) => (Math.abs(x.s - baselineAt) < Math.abs(best.s - baselineAt) ? x : best));
    const end = samples[samples.length - 1]!;
    const peak = Math.max(...samples.filter((x) => x.s >= base.s).map((x) => x.kb)) / 1024;
    const growth = ((end.kb - base.kb) / base.kb) * 100;
    console.log();
    out(`| load | RSS at ${base.s}s | RSS at end (${end.s}s) | growth | peak after ${base.s}s |`);
    out("|---|---:|---:|---:|---:|");
    out(
      `| ${fmtInt(m.rps)} req/s, p99 ${fmt(m.p99)} ms, ${m.bad} errors | ${(base.kb / 1024).toFixed(1)} MiB | ${(end.kb / 1024).toFixed(1)} MiB | ${growth.toFixed(1)} % | ${peak.toFixed(1)} MiB |`,
    );
    out();
    out(`### Verdicts: soak, ${SOAK_TARGET}`);
    out();
    const window = SOAK >= 600 ? `minute 2 → ${Math.round(end.s / 60)}` : `${base.s}s → ${end.s}s (a short soak)`;
    out(verdict(`RSS flat: < ${GROWTH_LIMIT} % growth ${window}`, `${growth.toFixed(1)} %`, growth < GROWTH_LIMIT));
    const limit = rssLimitMiB(SOAK_TARGET);
    out(
      verdict(
        `RSS under load < ${limit} MiB (${dbLabel(SOAK_TARGET)})`,
        `${peak.toFixed(1)} MiB`,
        peak < limit,
        `peak after ${base.s}s`,
      ),
    );
  } finally {
    clearInterval(timer);
    await stop(t.proc);
  }
}
