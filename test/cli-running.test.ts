/**
 * `tollgate credits grant` while a real server process runs on the embedded
 * database (which it holds): the CLI sends the grant over the server's local
 * control socket and the new balance is visible at once. Also the help:
 * `--help`/`-h` print and exit instead of starting a server, and every
 * command has its own `--help`.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  HttpClient,
  orgWithKey,
  type ServerProcess,
  startServerProcess,
  TEST_SECRET,
} from "./helpers/server-process.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);

describe("the CLI next to a running server (embedded database)", () => {
  let dataDir: string;
  let server: ServerProcess;
  let owner: HttpClient;
  let slug: string;

  const env = () => ({
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    NODE_ENV: "test",
    TOLLGATE_SECRET: TEST_SECRET,
    TOLLGATE_DATA_DIR: dataDir,
    TOLLGATE_LOG_LEVEL: "warn",
  });

  /** Runs `tollgate <args>`; resolves with its exit code and output (never rejects on a non-zero exit). */
  async function tollgate(...args: string[]): Promise<{ code: number; out: string }> {
    try {
      const r = await run(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
        cwd: ROOT,
        env: env(),
        timeout: 60_000,
      });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-cli-"));
    const port = await freePort();
    server = await startServerProcess(
      { TOLLGATE_DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${port}` },
      { port, readyTimeoutMs: 110_000 },
    );
    owner = new HttpClient(server.url, server.url);
    ({ slug } = await orgWithKey(owner));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("grants credits through the running server; the balance shows the grant at once", async () => {
    expect((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceUsd).toBe("0.000000");
    const res = await tollgate("credits", "grant", "--org", slug, "--usd", "12.5", "--note", "pilot");
    expect(res.out).toContain(`Granted $12.500000 to ${slug}`);
    expect(res.code).toBe(0);
    expect((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceUsd).toBe("12.500000");
    const tx = await owner.get(`/api/v1/orgs/${slug}/billing/transactions`);
    expect(tx.body.transactions[0]).toMatchObject({ kind: "grant", note: "pilot", actor: { email: "system" } });

    const unknown = await tollgate("credits", "grant", "--org", "no-such-org", "--usd", "1", "--note", "x");
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('No organization with slug "no-such-org"');

    // Only the account running the server can reach the channel.
    const socket = statSync(path.join(dataDir, "run", "control.sock"));
    expect(socket.mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dataDir, "run")).mode & 0o777).toBe(0o700);
  }, 120_000);

  it("prints help and exits for --help, -h and every command's --help", async () => {
    const cases: Array<[string[], string]> = [
      [["--help"], "Usage: tollgate [command]"],
      [["-h"], "Usage: tollgate [command]"],
      [["serve", "--help"], "Usage: tollgate serve"],
      [["migrate", "--help"], "Usage: tollgate migrate"],
      [["credits", "grant", "-h"], "--idempotency-key"],
      [["billing", "--help"], "Usage: tollgate billing verify"],
    ];
    const results = await Promise.all(cases.map(([args]) => tollgate(...args)));
    results.forEach((res, i) => {
      const [args, usage] = cases[i]!;
      expect(res.code, args.join(" ")).toBe(0);
      expect(res.out, args.join(" ")).toContain(usage);
    });
  }, 120_000);
});
