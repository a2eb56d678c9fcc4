/**
 * Starting Tollgate for a run: built server (`bin/tollgate.js serve`, dist/), pinned to the gateway
 * core, on embedded PGlite (a fresh temp data dir) or PostgreSQL (a fresh database, dropped after),
 * set up through the HTTP API like a user would: sign-up → org → project → live key, and a second
 * project with the response cache on. The strict targets also get the strict org security policy
 * and a project that logs request and response bodies.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GATEWAY_CORE, METERING, PG_URL, POLICIES, PROFILE_DIR, ROOT } from "./config.js";
import { freePort, start, stop, waitFor } from "./processes.js";
import { checkWorks, isStrict, type Target } from "./targets.js";
import { STRICT_POLICY } from "./strict-policy.js";

type TollgateName = "tollgate" | "tollgate-pg" | "tollgate-strict" | "tollgate-pg-strict";

/** A fresh PostgreSQL database for one Tollgate start; returns its URL and a function that drops it. */
async function freshPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!PG_URL) throw new Error("the PostgreSQL targets need --pg <admin URL>");
  const { default: pg } = await import("pg");
  const name = `tollgate_bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

function tollgateEnv(port: number, dataDir: string, mockUrl: string, databaseUrl: string | null): NodeJS.ProcessEnv {
  return {
    PORT: String(port),
    HOST: "127.0.0.1",
    TOLLGATE_DATA_DIR: dataDir,
    OPENAI_BASE_URL: `${mockUrl}/v1`,
    OPENAI_API_KEY: "x",
    TOLLGATE_LOG_LEVEL: "warn",
    NODE_ENV: "production",
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    // Metering off: the operator prices the model at 0, so no credit is held or charged (the hooks still run).
    ...(METERING
      ? {}
      : { TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "openai/gpt-4o-mini": { input: "0", output: "0" } }) }),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_URL: "" }),
  };
}

/** The driver's catch-all stops every process and exits 1 with this message. */
function notAvailable(what: string): never {
  throw new Error(`${what}: not available yet in this build.`);
}

export async function startTollgate(mockUrl: string, name: TollgateName = "tollgate"): Promise<Target> {
  const strict = isStrict(name);
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tollgate-bench-"));
  const pgDb = name.startsWith("tollgate-pg") ? await freshPgDatabase() : null;
  const profile = PROFILE_DIR ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(PROFILE_DIR)] : [];
  const env = tollgateEnv(port, dataDir, mockUrl, pgDb?.url ?? null);
  const launch = () => start(name, GATEWAY_CORE, process.execPath, [...profile, "bin/tollgate.js", "serve"], env);
  let proc = launch();
  const removeData = () => {
    rmSync(dataDir, { recursive: true, force: true });
    return pgDb
      ?.drop()
      .catch((err: unknown) => console.warn(`could not drop the bench database: ${(err as Error).message}`));
  };
  const unavailable = async (what: string): Promise<never> => {
    await stop(proc);
    void removeData();
    notAvailable(what);
  };
  const base = `http://127.0.0.1:${port}`;
  await waitFor(proc, "/readyz", async () => (await fetch(`${base}/readyz`)).ok);

  const origin = `http://localhost:${port}`;
  let cookie = "";
  const api = async (p: string, body: unknown, method = "POST"): Promise<Record<string, unknown>> => {
    const res = await fetch(base + p, {
      method,
      headers: { "content-type": "application/json", origin, ...(cookie ? { cookie } : {}) },
      body: JSON.stringify(body),
    });
    const set = res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    if (set) cookie = set;
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status === 404 && p.endsWith("/security-policy"))
      await unavailable(`${strict ? "--strict" : "--policies on"} (PUT /api/v1/orgs/{org}/security-policy)`);
    if (!res.ok) throw new Error(`tollgate setup ${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  await api("/api/auth/sign-up/email", { name: "Bench", email: "bench@example.com", password: "bench password 12345" });
  const org = await api("/api/v1/orgs", { name: "Bench Org" });
  const projects = `/api/v1/orgs/${String(org.slug)}/projects`;
  // Limits far above any reachable rate: the limiter runs on every request but never refuses.
  const limits = { rpm: 1_000_000_000, tpm: 1_000_000_000 };
  // The strict targets log the project's request and response bodies (masked by the policy).
  const project = await api(projects, {
    name: "Bench",
    environment: "production",
    rateLimit: limits,
    ...(strict ? { logBodies: true } : {}),
  });
  if (strict && project.logBodies !== true) await unavailable("--strict: logged bodies (a project's logBodies)");
  const key = await api(`${projects}/${String(project.slug)}/keys`, { name: "bench", environment: "live" });
  // The same project with the response cache on: the cache scenarios' key.
  const cached = await api(projects, {
    name: "Bench cached",
    environment: "production",
    rateLimit: limits,
    cache: { mode: "exact", ttlSeconds: 3600 },
  });
  const cacheKey = await api(`${projects}/${String(cached.slug)}/keys`, { name: "bench cached", environment: "live" });
  if (POLICIES || strict) await api(`/api/v1/orgs/${String(org.slug)}/security-policy`, STRICT_POLICY, "PUT");
  if (METERING) {
    // Credits come from the operator CLI; PGlite allows one process, so the server stops for it.
    await stop(proc);
    const grant = spawnSync(
      process.execPath,
      ["bin/tollgate.js", "credits", "grant", "--org", String(org.slug), "--usd", "1000000", "--note", "benchmark"],
      { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8" },
    );
    if (grant.status !== 0) {
      void removeData();
      if (/unknown command/i.test(grant.stderr + grant.stdout)) notAvailable("--metering on (tollgate credits grant)");
      throw new Error(`tollgate credits grant failed: ${grant.stderr || grant.stdout}`);
    }
    proc = launch();
    await waitFor(proc, "/readyz after granting credits", async () => (await fetch(`${base}/readyz`)).ok);
  }
  void proc.exited.then(removeData);
  const t = { name, url: `${base}/v1/chat/completions`, headers: { authorization: `Bearer ${String(key.key)}` } };
  await waitFor(proc, "a chat completion", () => checkWorks(t, false), 10_000);
  await waitFor(proc, "a streamed chat completion", () => checkWorks(t, true), 10_000);
  return { ...t, proc, cacheHeaders: { authorization: `Bearer ${String(cacheKey.key)}` } };
}
