/**
 * Child processes of the driver: each pinned to a core (taskset), the leader of its own
 * process group, killed on exit; and what /proc says about them (CPU time, RSS).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { ROOT } from "./config.js";

export const hasTaskset = spawnSync("taskset", ["--version"]).status === 0;

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

const running = new Set<Proc>();

/** Starts `cmd` pinned to `core`, as the leader of its own process group. */
export function start(name: string, core: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const [file, argv] = hasTaskset ? ["taskset", ["-c", core, cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  const keep = (b: Buffer) => {
    out = (out + b.toString("utf8")).slice(-8000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const proc: Proc = { name, child, exited, output: () => out };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** SIGTERM to the whole group, SIGKILL after 10 s. */
export async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const group = -proc.child.pid!;
  try {
    process.kill(group, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(group, "SIGKILL");
    } catch {
      /* gone */
    }
  }, 10_000);
  await proc.exited;
  clearTimeout(timer);
}

/** Stops every process still running (SIGTERM, then SIGKILL). */
export async function cleanup(): Promise<void> {
  await Promise.all([...running].map(stop));
}

/** On the driver's own exit: SIGKILL to every group still running, synchronously. */
export function killAll(): void {
  for (const p of running) {
    try {
      process.kill(-p.child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(
  proc: Proc,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited while waiting for ${what}:\n${proc.output()}`);
    try {
      if (await probe()) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${proc.name}: timed out waiting for ${what}:\n${proc.output()}`);
}

/** utime + stime in ms from a /proc stat line (clock ticks of 10 ms). */
function statCpuMs(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** CPU time (user + system) of a process so far, in ms (from /proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  try {
    return statCpuMs(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return NaN;
  }
}

/** CPU time (ms) of a process's threads other than its main thread: V8's compiler and GC helpers, libuv's pool. */
export function helperCpuMs(pid: number): number {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      if (tid === String(pid)) continue;
      total += statCpuMs(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
    }
  } catch {
    /* a thread ended meanwhile: count what was read */
  }
  return total;
}

/** Resident set size (VmRSS of /proc/<pid>/status) in KiB; NaN once the process is gone. */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
