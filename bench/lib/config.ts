/**
 * The driver's command line and fixed layout (see bench/gateway.ts for the flags).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PORTKEY_ENTRY = path.join(ROOT, "bench/portkey/node_modules/@portkey-ai/gateway/build/start-server.js");
export const GATEWAY_CORE = "0";
export const DRIVER_CORE = "1";

export type TargetName =
  | "tollgate"
  | "tollgate-pg"
  | "tollgate-strict"
  | "tollgate-pg-strict"
  | "bare"
  | "plain"
  | "portkey";
const TARGET_NAMES: readonly TargetName[] = [
  "tollgate",
  "tollgate-pg",
  "tollgate-strict",
  "tollgate-pg-strict",
  "bare",
  "plain",
  "portkey",
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

export const DURATION = Number(arg("duration", "10"));
export const ROUNDS = Number(arg("rounds", "3"));
export const SOAK = Number(arg("soak", "0"));
/** `--soak-target tollgate|tollgate-pg`: the server the soak runs (default tollgate, on PGlite). */
export const SOAK_TARGET = arg("soak-target", "tollgate") as "tollgate" | "tollgate-pg";
export const WARMUP = Number(arg("warmup", "3"));
/** `--max-extra-warmup S`: at most this much more warm-up while the target's compiler threads are busy. */
export const MAX_EXTRA_WARMUP = Number(arg("max-extra-warmup", "30"));
/** Admin URL of a PostgreSQL server: adds the `tollgate-pg` target (a fresh database per start). */
export const PG_URL = arg("pg", "");
/** `--strict`: adds `tollgate-strict` (and `tollgate-pg-strict` with `--pg`): strict policy + logged bodies. */
const STRICT = process.argv.includes("--strict");
export const POLICIES = arg("policies", "off") === "on";
// The server meters every request once billing is wired in (402 without credits), so "on" is the default.
export const METERING = arg("metering", "on") === "on";
export const SKIP_BUILD = process.argv.includes("--no-build");
/** `--store off`: the Responses scenarios send `store: false` (nothing stored), to price storing apart. */
export const STORE = arg("store", "on") === "on";
/** `--profile DIR`: Tollgate runs with `node --cpu-prof --cpu-prof-dir DIR` (one .cpuprofile per start). */
export const PROFILE_DIR = arg("profile", "");
/** `--record`: append this run's results to docs/benchmarks.md. */
export const RECORD = process.argv.includes("--record");
/** `--scenarios ns32` (comma-separated ids) runs a subset, e.g. to profile one scenario alone. */
export const SCENARIO_IDS = arg("scenarios", "ns1,s1,ns32,s32").split(",");

const defaultTargets = ["tollgate", ...(PG_URL ? ["tollgate-pg"] : []), "bare", "plain", "portkey"];
const named = arg("targets", defaultTargets.join(","))
  .split(",")
  .filter((t) => t !== "");
const strictTargets = STRICT ? ["tollgate-strict", ...(PG_URL ? ["tollgate-pg-strict"] : [])] : [];
/** Names in `--targets` that are no target (the driver warns and leaves them out). */
export const UNKNOWN_TARGETS = named.filter((t) => !(TARGET_NAMES as readonly string[]).includes(t));
export const KNOWN_TARGETS = TARGET_NAMES.join(", ");
export const TARGETS = [...new Set([...named, ...strictTargets])].filter((t): t is TargetName =>
  (TARGET_NAMES as readonly string[]).includes(t),
);

/** The command line as typed, for the record. */
export const COMMAND = `npx tsx bench/gateway.ts${process.argv
  .slice(2)
  .map((a) => ` ${a}`)
  .join("")}`;
