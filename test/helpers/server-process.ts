/**
 * Real Tollgate server processes for tests that need more than one process or
 * a real signal (shutdown, replicas): `node --import tsx src/cli.ts serve` with
 * its own environment, and a small HTTP client with a cookie jar that can talk
 * to any of them (sessions live in the shared database).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TEST_SECRET = "test-secret-test-secret-test-secret-0123456789";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServerProcess(
  env: Record<string, string>,
  opts: { port?: number; readyTimeoutMs?: number } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  let out = "";
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      TOLLGATE_SECRET: TEST_SECRET,
      TOLLGATE_LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (dead) throw new Error(`server on port ${port} exited during start:\n${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`server on port ${port} did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    url,
    child,
    exited,
    output: () => out,
    async stop(signal = "SIGTERM") {
      if (!dead) child.kill(signal);
      return exited;
    },
  };
}

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A browser-like client: keeps the session cookie, sends Origin on changes. Point it at any replica with `at()`. */
export class HttpClient {
  constructor(
    public base: string,
    public readonly origin: string,
    private readonly jar: Map<string, string> = new Map(),
  ) {}

  /** The same session, talking to another replica. */
  at(base: string): HttpClient {
    return new HttpClient(base, this.origin, this.jar);
  }

  async request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.jar.size) h.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (method !== "GET") h.origin = this.origin;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetch(this.base + url, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === "" || /max-age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get = <T = any>(url: string, headers?: Record<string, string>) => this.request<T>("GET", url, undefined, headers);
  post = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("POST", url, body, headers);
  patch = <T = any>(url: string, body?: unknown) => this.request<T>("PATCH", url, body);
  delete = <T = any>(url: string) => this.request<T>("DELETE", url);
}

/**
 * Signs up a fresh user, creates an org and a project (body as given) and a key.
 * A test key by default: test keys are never charged, so no credits are needed
 * (their own rate limit is at most 60 requests per minute).
 */
export async function orgWithKey(
  c: HttpClient,
  project: Record<string, unknown> = {},
): Promise<{ slug: string; project: string; key: string; keyId: string }> {
  const email = `ops-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const up = await c.post("/api/auth/sign-up/email", { name: "Ops", email, password: "correct horse battery staple" });
  if (up.status !== 200) throw new Error(`sign-up: ${up.status} ${JSON.stringify(up.body)}`);
  const org = await c.post("/api/v1/orgs", { name: `Ops ${Math.random().toString(36).slice(2, 8)}` });
  if (org.status !== 201) throw new Error(`org: ${org.status} ${JSON.stringify(org.body)}`);
  const slug = org.body.slug as string;
  const p = await c.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod", ...project });
  if (p.status !== 201) throw new Error(`project: ${p.status} ${JSON.stringify(p.body)}`);
  return { slug, project: p.body.slug as string, ...(await newKey(c, slug, p.body.slug as string)) };
}

export async function newKey(
  c: HttpClient,
  slug: string,
  project: string,
  environment: "live" | "test" = "test",
): Promise<{ key: string; keyId: string }> {
  const k = await c.post(`/api/v1/orgs/${slug}/projects/${project}/keys`, { name: `ops-${environment}`, environment });
  if (k.status !== 201) throw new Error(`key: ${k.status} ${JSON.stringify(k.body)}`);
  return { key: k.body.key as string, keyId: k.body.id as string };
}

export interface StreamResult {
  status: number;
  /** Saw `data: [DONE]`. */
  done: boolean;
  /** Error code of a terminal error event, if any. */
  errorCode: string | null;
  text: string;
  /** The connection ended without [DONE] or an error event. */
  cut: boolean;
  requestId: string | null;
}

/** Starts a streamed chat completion; `started` resolves at the first content chunk, `result` when the stream ends. */
export function openStream(
  base: string,
  key: string,
  body: Record<string, unknown>,
): { started: Promise<void>; result: Promise<StreamResult> } {
  let markStarted!: () => void;
  let failStarted!: (e: unknown) => void;
  const started = new Promise<void>((res, rej) => {
    markStarted = res;
    failStarted = rej;
  });
  const result = (async (): Promise<StreamResult> => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ stream: true, ...body }),
    });
    const out: StreamResult = {
      status: res.status,
      done: false,
      errorCode: null,
      text: "",
      cut: false,
      requestId: res.headers.get("x-request-id"),
    };
    if (res.status !== 200 || !res.body) {
      failStarted(new Error(`stream refused: ${res.status}`));
      return out;
    }
    const decoder = new TextDecoder();
    let buf = "";
    let first = true;
    try {
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(part, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trim())
            .join("\n");
          if (!data) continue;
          if (data === "[DONE]") {
            out.done = true;
            continue;
          }
          const json = JSON.parse(data) as {
            error?: { code?: string };
            choices?: Array<{ delta?: { content?: string } }>;
          };
          if (json.error) out.errorCode = json.error.code ?? "error";
          const piece = json.choices?.[0]?.delta?.content;
          if (piece) {
            out.text += piece;
            if (first) {
              first = false;
              markStarted();
            }
          }
        }
      }
    } catch {
      out.cut = true;
    }
    if (!out.done && !out.errorCode) out.cut = true;
    if (first) failStarted(new Error(`stream ended before its first chunk (${JSON.stringify(out)})`));
    return out;
  })();
  result.catch((e) => failStarted(e));
  return { started, result };
}

/** An organization's cached balance, the sum of its ledger and its usage, read straight from the database. */
export async function ledgerOf(dbUrl: string, slug: string): Promise<{ balance: bigint; sum: bigint; usage: bigint }> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const r = await c.query(
      `select a.balance_micro_usd::text as balance,
              (select coalesce(sum(amount_micro_usd), 0)::text from ledger_entries l where l.org_id = o.id) as sum,
              (select coalesce(-sum(amount_micro_usd), 0)::text from ledger_entries l where l.org_id = o.id and kind = 'usage') as usage
         from organizations o left join billing_accounts a on a.org_id = o.id where o.slug = $1`,
      [slug],
    );
    return { balance: BigInt(r.rows[0].balance ?? 0), sum: BigInt(r.rows[0].sum), usage: BigInt(r.rows[0].usage) };
  } finally {
    await c.end();
  }
}
