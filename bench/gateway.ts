/**
 * Gateway benchmark: Tollgate, two floors — the bare pass-through proxy (node:http + a tuned undici
 * pool) and the plain one (node:http + undici's global dispatcher) — and Portkey's open-source
 * gateway, side by side against the same local mock upstream, in alternating rounds; then one
 * PASS/MISS line per speed target (docs/benchmarks.md).
 *
 * Layout on a 2-core machine: the gateway under test is pinned to core 0; the mock upstream and
 * this driver (autocannon runs in-process) share core 1. The driver re-executes itself under
 * `taskset -c 1` when it is not pinned yet.
 *
 * Scenarios per target and round (bench/lib/load.ts): non-streaming at concurrency 1 (`ns1`,
 * latency), streaming at concurrency 1 (`s1`: a sequential client timing the first body byte of
 * every answer), non-streaming at 32 (`ns32`, throughput), streaming at 32 (`s32`); on request the
 * Responses API at 32, whole (`rns32`) and streamed (`rs32`), and Tollgate's response cache at 32:
 * every request a hit (`chit32`, streamed `schit32`) or every request new (`cmiss32`). Latency
 * percentiles come from every 2xx response time (float ms). Each target's RSS is read at the end
 * of each scenario.
 *
 * Tollgate runs the full pipeline as shipped (bench/lib/tollgate-target.ts): key auth, rate limits
 * (too high to refuse), billing, request logging (PGlite, or PostgreSQL for `tollgate-pg` with
 * `--pg URL`). `--strict` adds `tollgate-strict` (and `tollgate-pg-strict` with `--pg`): the
 * strict org security policy and the project's bodies logged; they run `ns32` and `s32`.
 * `--policies on` sets the strict policy on the plain Tollgate targets too; `--metering on|off`;
 * `--store on|off`; `--profile DIR`; `--soak N [--soak-target tollgate|tollgate-pg]`; `--record`
 * appends the results to docs/benchmarks.md. See docs/benchmarks.md, "How to run".
 *
 * Run: `npx tsx bench/gateway.ts [--duration 10] [--rounds 3] [--warmup 3] [--max-extra-warmup 30]
 *   [--targets tollgate,bare,plain,portkey] [--scenarios ns1,s1,ns32,s32] [--pg URL] [--strict]
 *   [--policies on|off] [--metering on|off] [--store on|off] [--no-build] [--profile DIR]
 *   [--soak 600] [--soak-target tollgate|tollgate-pg] [--record]`
 * Portkey needs `npm ci --prefix bench/portkey` once; without it, it is skipped.
 * Every process started here runs in its own process group and is killed on exit, error or
 * Ctrl-C; every load loop is bounded by its duration.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import {
  DRIVER_CORE,
  DURATION,
  GATEWAY_CORE,
  MAX_EXTRA_WARMUP,
  PG_URL,
  PORTKEY_ENTRY,
  RECORD,
  ROOT,
  ROUNDS,
  SKIP_BUILD,
  SOAK,
  SOAK_TARGET,
  TARGETS,
  type TargetName,
  UNKNOWN_TARGETS,
  KNOWN_TARGETS,
  WARMUP,
} from "./lib/config.js";
import { load, NS32, runs, SCENARIOS } from "./lib/load.js";
import type { Measurement } from "./lib/measurement.js";
import { cleanup, hasTaskset, helperCpuMs, killAll, rssKb, start, stop, waitFor, freePort } from "./lib/processes.js";
import { record } from "./lib/record.js";
import { load1, machine, printResults, progressLine, reportLines } from "./lib/report.js";
import { soak } from "./lib/soak.js";
import { isTollgate, startBare, startPlain, startPortkey, type Target } from "./lib/targets.js";
import { startTollgate } from "./lib/tollgate-target.js";

const starters: Record<TargetName, (mockUrl: string) => Promise<Target>> = {
  tollgate: (m) => startTollgate(m, "tollgate"),
  "tollgate-pg": (m) => startTollgate(m, "tollgate-pg"),
  "tollgate-strict": (m) => startTollgate(m, "tollgate-strict"),
  "tollgate-pg-strict": (m) => startTollgate(m, "tollgate-pg-strict"),
  bare: startBare,
  plain: startPlain,
  portkey: startPortkey,
};

/**
 * A short load, then on until the process is past its start-up compilation: after a start, V8
 * compiles hot JavaScript and WebAssembly (PGlite's PostgreSQL is ~10 MB of it) on helper threads,
 * which share the pinned core with the server for several seconds. Measured is the steady state a
 * long-running server is in: helper threads under 15 % of a core for a second.
 */
async function warmUp(t: Target, round: number): Promise<void> {
  if (WARMUP <= 0) return;
  await load(t, NS32, WARMUP);
  const warmStart = Date.now();
  for (;;) {
    const before = helperCpuMs(t.proc.child.pid!);
    await load(t, NS32, 1);
    const busy = (helperCpuMs(t.proc.child.pid!) - before) / 1000;
    if (busy < 0.15 || Date.now() - warmStart > MAX_EXTRA_WARMUP * 1000) break;
  }
  const extra = Math.round((Date.now() - warmStart) / 1000);
  if (extra > 1)
    console.log(
      `round ${round + 1}  ${t.name.padEnd(18)}  warm-up: ${WARMUP} s + ${extra} s until its compiler threads were quiet`,
    );
}

async function main() {
  if (!hasTaskset) console.warn("taskset not found: processes are NOT pinned to cores; numbers are less repeatable.");
  const startedAt = new Date();
  if (UNKNOWN_TARGETS.length)
    console.warn(`unknown target(s) left out: ${UNKNOWN_TARGETS.join(", ")} (known: ${KNOWN_TARGETS})`);
  const targets = TARGETS.filter((t) => {
    if (t === "portkey" && !existsSync(PORTKEY_ENTRY)) {
      console.warn("portkey: not installed (run `npm ci --prefix bench/portkey`); skipped.");
      return false;
    }
    return true;
  });
  if (!PG_URL && (targets.some((t) => t.startsWith("tollgate-pg")) || (SOAK > 0 && SOAK_TARGET === "tollgate-pg")))
    throw new Error(
      "the PostgreSQL targets (tollgate-pg, tollgate-pg-strict, --soak-target tollgate-pg) need --pg URL",
    );
  if (SOAK > 0 && SOAK_TARGET !== "tollgate" && SOAK_TARGET !== "tollgate-pg")
    throw new Error(`--soak-target: tollgate or tollgate-pg, not ${String(SOAK_TARGET)}`);

  if ((targets.some(isTollgate) || SOAK > 0) && !SKIP_BUILD) {
    console.log("building Tollgate (npm run build)…");
    const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
    if (b.status !== 0) throw new Error("npm run build failed");
  }

  const mockPort = await freePort();
  const mock = start("mock", DRIVER_CORE, process.execPath, [
    "--import",
    "tsx",
    path.join(ROOT, "bench/mock-upstream.ts"),
    String(mockPort),
  ]);
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  await waitFor(
    mock,
    "the mock upstream",
    async () => (await fetch(`${mockUrl}/v1/chat/completions`, { method: "POST", body: "{}" })).ok,
  );

  const loadAtStart = load1();
  console.log(`\nmachine: ${machine()}`);
  console.log(
    `gateway on core ${GATEWAY_CORE}; mock upstream + driver (autocannon) on core ${DRIVER_CORE}; ${ROUNDS} round(s) × ${DURATION}s per scenario, ${WARMUP}s warm-up per start`,
  );
  console.log(`load average (1 min) at start: ${loadAtStart}\n`);

  const results = new Map<string, Measurement[]>(); // `${target}:${scenario}`
  const loads: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const name of order) {
      const t = await starters[name](mockUrl);
      try {
        await warmUp(t, round);
        for (const s of SCENARIOS.filter((x) => runs(name, x))) {
          const m = await load(t, s, DURATION);
          m.rssMiB = rssKb(t.proc.child.pid!) / 1024;
          const k = `${name}:${s.id}`;
          results.set(k, [...(results.get(k) ?? []), m]);
          console.log(progressLine(round, name, s.label, m));
          loads.push(load1());
        }
      } finally {
        await stop(t.proc);
      }
    }
  }

  console.log();
  const floor = targets.length ? printResults(targets, results, ROUNDS, DURATION) : "";
  console.log(`\nload average (1 min) after each scenario: ${loads.join(", ")}`);

  if (SOAK > 0) await soak(mockUrl);
  await stop(mock);

  if (RECORD) {
    const file = record({ startedAt, machine: machine(), loadAtStart, loads, floor, lines: reportLines() });
    console.log(`\nrecorded in ${path.relative(ROOT, file)}`);
  }
}

// --- entry: re-exec the driver pinned to core 1, then run ---------------------------

if (hasTaskset && process.env.TOLLGATE_BENCH_PINNED !== "1") {
  const child = spawn("taskset", ["-c", DRIVER_CORE, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, TOLLGATE_BENCH_PINNED: "1" },
  });
  // The pinned driver gets the terminal's Ctrl-C itself (same process group) and cleans up.
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      void cleanup().then(() => process.exit(130));
    });
  }
  process.on("exit", killAll);
  await main().then(
    () => cleanup().then(() => process.exit(0)),
    async (err: unknown) => {
      console.error(err);
      await cleanup();
      process.exit(1);
    },
  );
}
