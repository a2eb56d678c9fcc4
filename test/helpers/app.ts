/**
 * Boots a real Tollgate app for a test file (real database, real auth) and
 * gives HTTP clients that keep a session cookie like a browser would.
 * Requests go through Fastify's inject — the full HTTP pipeline without a socket.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import pino from "pino";
import { type App, type AppOptions, buildApp } from "../../src/app.js";
import { type Config, loadConfig } from "../../src/config.js";
import type { Database } from "../../src/platform/db/db.js";
import { openTestDatabase, type TestDatabase } from "./database.js";

export const PUBLIC_URL = "http://localhost:3000";

export interface TestApp {
  app: App;
  config: Config;
  database: Database;
  db: Database["db"];
  /** An anonymous client (no session). */
  anon: Client;
  signUp(input?: Partial<{ name: string; email: string; password: string }>): Promise<Client>;
  signIn(email: string, password: string): Promise<Client>;
  close(): Promise<void>;
}

export interface Response<T = any> {
  status: number;
  headers: LightMyRequestResponse["headers"];
  body: T;
  raw: LightMyRequestResponse;
}

let counter = 0;
export const uniqueEmail = (prefix = "user") => `${prefix}-${Date.now().toString(36)}-${++counter}@example.com`;
export const PASSWORD = "correct horse battery staple";
/** Pass as a header value to send the request without that header (e.g. no Origin on a POST). */
export const OMIT = "\u0000omit";

export class Client {
  cookie = "";
  user: { id: string; email: string; name: string } | null = null;
  constructor(private readonly app: App) {}

  async request<T = any>(
    method: InjectOptions["method"],
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (method !== "GET" && method !== "HEAD" && !("origin" in h)) h.origin = PUBLIC_URL;
    if (body !== undefined && typeof body !== "string" && !("content-type" in h))
      h["content-type"] = "application/json";
    for (const [k, v] of Object.entries(h)) if (v === OMIT) delete h[k];
    const res = await this.app.server.inject({
      method,
      url,
      headers: h,
      payload: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    for (const c of ([] as string[]).concat(res.headers["set-cookie"] ?? [])) {
      const [pair] = c.split(";");
      const [name, value] = pair!.split("=");
      const jar = new Map(this.cookie ? this.cookie.split("; ").map((kv) => kv.split("=") as [string, string]) : []);
      if (value === "" || /max-age=0/i.test(c)) jar.delete(name!);
      else jar.set(name!, value!);
      this.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    let parsed: unknown = res.body;
    if (String(res.headers["content-type"] ?? "").includes("json") && res.body) parsed = JSON.parse(res.body);
    return { status: res.statusCode, headers: res.headers, body: parsed as T, raw: res };
  }

  get = <T = any>(url: string, headers?: Record<string, string>) => this.request<T>("GET", url, undefined, headers);
  post = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("POST", url, body, headers);
  patch = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("PATCH", url, body, headers);
  put = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("PUT", url, body, headers);
  delete = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("DELETE", url, body, headers);
}

/** Extra AppOptions for the app under test (gateway hooks, gateway timeouts, log destination timings). */
export type TestAppOptions = Partial<Pick<AppOptions, "gatewayHooks" | "gatewayTimeouts" | "logDestinations">>;

export async function startTestApp(
  opts: { env?: Record<string, string>; config?: Partial<Config>; appOptions?: TestAppOptions } = {},
): Promise<TestApp> {
  const tdb: TestDatabase = await openTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-test-"));
  const config = loadConfig(
    {
      NODE_ENV: "test",
      PUBLIC_URL,
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_SECRET: "test-secret-test-secret-test-secret-0123456789",
      ...opts.env,
    },
    opts.config,
  );
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const app = await buildApp({ ...opts.appOptions, config, database: tdb.database, logger });
  await app.server.ready();

  async function signUp(input: Partial<{ name: string; email: string; password: string }> = {}): Promise<Client> {
    const client = new Client(app);
    const email = input.email ?? uniqueEmail();
    const res = await client.post("/api/auth/sign-up/email", {
      name: input.name ?? email.split("@")[0],
      email,
      password: input.password ?? PASSWORD,
    });
    if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
    client.user = { id: res.body.user.id, email: res.body.user.email, name: res.body.user.name };
    return client;
  }

  async function signIn(email: string, password: string): Promise<Client> {
    const client = new Client(app);
    const res = await client.post("/api/auth/sign-in/email", { email, password });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
    client.user = { id: res.body.user.id, email: res.body.user.email, name: res.body.user.name };
    return client;
  }

  return {
    app,
    config,
    database: tdb.database,
    db: tdb.database.db,
    anon: new Client(app),
    signUp,
    signIn,
    async close() {
      await app.close();
      await tdb.drop();
    },
  };
}
