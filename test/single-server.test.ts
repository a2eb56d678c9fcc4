/**
 * Without Redis, one Tollgate server per PostgreSQL database (credit holds are
 * per process then), end to end with real server processes:
 *  - a second `serve` on the same database exits 1 before listening, with the
 *    message that names the fix; the first keeps serving, and the other CLI
 *    commands (migrate, credits grant, billing verify) still run beside it;
 *  - the server re-takes its lock when the lock's connection is killed;
 *  - 100 parallel priced requests on the one server never overspend: the
 *    ledger holds exactly what the clients were told;
 *  - once the server stops (SIGTERM), a new one starts.
 * `mock/echo` is priced through TOLLGATE_PRICE_OVERRIDES so that requests cost money.
 *
 * Needs TEST_DATABASE_URL (.ci/run sets it); skipped otherwise.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_LOCK_KEY, SERVER_LOCK_TAKEN } from "../src/platform/db/server-lock.js";
import { createPgDatabase, TEST_DATABASE_URL } from "./helpers/database.js";
import {
  freePort,
  HttpClient,
  ledgerOf,
  newKey,
  orgWithKey,
  startServerProcess,
  TEST_SECRET,
  type ServerProcess,
} from "./helpers/server-process.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PUBLIC_URL = "http://tollgate.test";
const run = promisify(execFile);
const until = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
  for (const end = Date.now() + ms; !(await check()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.skipIf(!TEST_DATABASE_URL)(
  "one server per PostgreSQL database without Redis (needs TEST_DATABASE_URL)",
  () => {
    let pgdb: Awaited<ReturnType<typeof createPgDatabase>>;
    let env: Record<string, string>;
    let server: ServerProcess;
    let owner: HttpClient;

    beforeAll(async () => {
      pgdb = await createPgDatabase();
      env = {
        DATABASE_URL: pgdb.url,
        PUBLIC_URL,
        TOLLGATE_DATA_DIR: `/tmp/tollgate-single-${randomBytes(4).toString("hex")}`,
        // $1 per million input tokens, $10 per million output tokens.
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "10" } }),
      };
      server = await startServerProcess(env, { readyTimeoutMs: 90_000 });
      owner = new HttpClient(server.url, PUBLIC_URL);
    }, 120_000);

    afterAll(async () => {
      await server?.stop("SIGTERM");
      await pgdb?.drop();
    }, 60_000);

    const cli = (...args: string[]) =>
      run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", DATABASE_URL: pgdb.url, TOLLGATE_SECRET: TEST_SECRET },
      });

    /** `tollgate serve` run to its exit (bounded), for a server that must refuse to start. */
    const serveToExit = async (): Promise<{ code: number | null; output: string }> => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve"], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          NODE_ENV: "test",
          HOST: "127.0.0.1",
          PORT: String(await freePort()),
          TOLLGATE_SECRET: TEST_SECRET,
          ...env,
          TOLLGATE_LOG_LEVEL: "info",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const kill = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      clearTimeout(kill);
      return { code, output };
    };

    const withDb = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    };
    /** The backend holding the server lock, or null. pg_locks splits a 64-bit key into two 32-bit oids. */
    const lockHolder = () =>
      withDb(async (c) => {
        const key = BigInt.asUintN(64, SERVER_LOCK_KEY);
        const r = await c.query<{ pid: number }>(
          `select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 1 and classid = $1::oid and objid = $2::oid
            and database = (select oid from pg_database where datname = current_database())`,
          [(key >> 32n).toString(), (key & 0xffffffffn).toString()],
        );
        return r.rows[0]?.pid ?? null;
      });
    const ledger = (slug: string) => ledgerOf(pgdb.url, slug);

    it("a second server exits 1 before listening, naming the fix; the first keeps serving", async () => {
      const second = await serveToExit();
      console.info(
        `single-server: second server exited ${second.code}: ${second.output.split("\n").find((l) => l.includes("Another Tollgate server"))}`,
      );
      expect(second.code).toBe(1);
      expect(second.output.split(SERVER_LOCK_TAKEN).length - 1).toBe(1);
      // Logged at info had it listened.
      expect(second.output).not.toContain("Server listening");
      expect(second.output).not.toContain("Tollgate is running");
      expect(second.output + server.output()).not.toContain(pgdb.url);

      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const { key } = await orgWithKey(owner);
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        // A test key: free models only (mock/echo is priced here).
        body: JSON.stringify({
          model: "mock/lorem",
          messages: [{ role: "user", content: "still here?" }],
          max_tokens: 5,
        }),
      });
      expect(res.status).toBe(200);
      // Only `serve` takes the lock.
      await cli("migrate");
      await cli("billing", "verify");
    }, 90_000);

    it("re-takes the lock when its connection is killed, and says so", async () => {
      const before = await lockHolder();
      expect(before).not.toBeNull();
      await withDb((c) => c.query("select pg_terminate_backend($1)", [before]));
      await until("the lock to be taken again", async () => ![null, before].includes(await lockHolder()));
      await until("the log lines", async () => server.output().includes("single-server lock taken again"));
      expect(server.output().split("lost the single-server lock").length - 1).toBe(1);
    }, 30_000);

    it("100 parallel priced requests never overspend the balance; the ledger holds what clients were told", async () => {
      const { slug, project } = await orgWithKey(owner);
      const { key } = await newKey(owner, slug, project, "live");
      const B = 20_000n;
      await cli("credits", "grant", "--org", slug, "--usd", "0.02", "--note", "single-server test");
      const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
      const N = 100;
      const results = await Promise.all(
        Array.from({ length: N }, async () => {
          const res = await fetch(`${server.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: words }], max_tokens: 100 }),
          });
          const body = (await res.json()) as { error?: { code?: string; message?: string } };
          const cost = res.headers.get("x-tollgate-cost-usd");
          // A refusal states the request's worst case: "… may cost up to $0.001234 …".
          const hold = body.error?.message?.match(/may cost up to \$(\d+)\.(\d{6})/);
          return {
            status: res.status,
            code: body.error?.code,
            cost: cost === null ? null : BigInt(cost.replace(".", "")),
            hold: hold ? BigInt(hold[1]! + hold[2]!) : null,
          };
        }),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 402 && r.code === "insufficient_credits");
      expect(ok.length + refused.length).toBe(N);
      expect(refused.length).toBeGreaterThan(0);
      const cost = ok[0]!.cost!;
      const hold = refused[0]!.hold!;
      for (const r of ok) expect(r.cost).toBe(cost);
      for (const r of refused) expect(r.hold).toBe(hold);
      const charged = cost * BigInt(ok.length);
      console.info(
        `single-server: balance $0.02, ${N} parallel requests costing ${cost} µ$ each (held ${hold} µ$): ${ok.length} admitted, ${refused.length} refused (402); charged ${charged} µ$`,
      );
      // Every admitted request consumes at most its hold and exactly its cost.
      expect(BigInt(ok.length)).toBeGreaterThanOrEqual(B / hold);
      expect(BigInt(ok.length)).toBeLessThanOrEqual(B / cost);

      let l = await ledger(slug);
      await until("the ledger to hold every charge", async () => {
        l = await ledger(slug);
        return l.usage >= charged;
      });
      expect(l.usage).toBe(charged);
      expect(l.balance).toBe(B - charged);
      expect(l.balance).toBeGreaterThanOrEqual(0n);
      expect(l.sum).toBe(l.balance);
    }, 60_000);

    it("once the server has stopped (SIGTERM), a new one starts", async () => {
      expect((await server.stop("SIGTERM")).code).toBe(0);
      expect(await lockHolder()).toBeNull();
      server = await startServerProcess(env, { readyTimeoutMs: 90_000 });
      expect(await lockHolder()).not.toBeNull();
    }, 120_000);
  },
);
