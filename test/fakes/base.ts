/**
 * Shared machinery of the provider fakes: a node:http server on 127.0.0.1:0
 * that records requests, counts connections closed by the client, and applies
 * per-test fault modes (status with Retry-After, hang before headers, hang or
 * TCP reset after N stream events, slow events, redirect, garbage body).
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault =
  | { type: "status"; status: number; retryAfter?: string; message?: string }
  | { type: "hang_headers" }
  | { type: "hang_after"; chunks: number }
  /** TCP reset after `chunks` events; `delayMs` first lets the events reach the client before the reset. */
  | { type: "reset_after"; chunks: number; delayMs?: number }
  | { type: "slow"; delayMs: number }
  | { type: "redirect"; location: string }
  | { type: "garbage" };

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface FakeContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  path: string;
  body: any;
  /** The request body's bytes as received (a multipart upload). */
  raw: Buffer;
  fault: Fault | undefined;
  /** Writes an SSE response honouring the fault; `events` are complete wire strings (`data: …\n\n`). */
  sse(events: string[]): Promise<void>;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
}

export interface FakeServer {
  url: string;
  requests: Recorded[];
  /** Requests whose client went away before the response was finished. */
  clientAborts: number;
  last(): Recorded;
  /** Applies `fault` to the next `times` requests (default: all until cleared). */
  setFault(fault: Fault | undefined, times?: number): void;
  /** Resolves when the next client abort is observed (or after `ms`, with false). */
  waitForClientAbort(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFake(
  handle: (ctx: FakeContext) => Promise<void> | void,
  renderError: (status: number, message: string) => unknown,
): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  let fault: Fault | undefined;
  let faultTimes = Infinity;
  let abortWaiters: Array<() => void> = [];
  const state = { clientAborts: 0 };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: any;
    const raw = Buffer.concat(chunks);
    try {
      body = chunks.length ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      body = undefined;
    }
    const url = new URL(req.url ?? "/", "http://fake");
    requests.push({ method: req.method ?? "", path: url.pathname + url.search, headers: req.headers, body });
    const f = faultTimes > 0 ? fault : undefined;
    if (f) faultTimes -= 1;
    res.on("close", () => {
      if (!res.writableFinished) {
        state.clientAborts += 1;
        const w = abortWaiters;
        abortWaiters = [];
        for (const fn of w) fn();
      }
    });
    const json = (status: number, b: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(b));
    };
    if (f?.type === "hang_headers") return; // never answer
    if (f?.type === "status") {
      return json(
        f.status,
        renderError(f.status, f.message ?? `fake failure ${f.status}`),
        f.retryAfter ? { "retry-after": f.retryAfter } : {},
      );
    }
    if (f?.type === "redirect") {
      res.writeHead(302, { location: f.location });
      return void res.end();
    }
    if (f?.type === "garbage") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end("<html>not json</html>");
    }
    const sse = async (events: string[]) => {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      res.flushHeaders();
      for (const [i, ev] of events.entries()) {
        if (f?.type === "hang_after" && i === f.chunks) return; // keep the socket open, send nothing more
        if (f?.type === "reset_after" && i === f.chunks) {
          if (f.delayMs) await sleep(f.delayMs);
          (res.socket as Socket | null)?.resetAndDestroy();
          return;
        }
        if (f?.type === "slow") await sleep(f.delayMs);
        if (res.destroyed) return;
        res.write(ev);
      }
      res.end();
    };
    try {
      await handle({ req, res, path: url.pathname, body, raw, fault: f, sse, json });
    } catch (err) {
      if (!res.headersSent) json(500, renderError(500, `fake crashed: ${(err as Error).message}`));
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get clientAborts() {
      return state.clientAborts;
    },
    last: () => {
      const r = requests[requests.length - 1];
      if (!r) throw new Error("no request recorded");
      return r;
    },
    setFault(f, times = Infinity) {
      fault = f;
      faultTimes = times;
    },
    waitForClientAbort(ms) {
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        abortWaiters.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Writes one SSE event the way each provider does (`event:` line optional). */
export const sseData = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
