/**
 * One gateway request and its response, on the bare Node.js objects: what the
 * gateway reads (id, client IP, parsed body, the body's JSON text) and how it
 * answers (headers collected until the answer is sent in one write, JSON or a
 * hijack-free SSE stream on `res`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface ExchangeLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class Exchange {
  /** performance.now() when the request arrived. */
  readonly started = performance.now();
  /** The parsed JSON body (undefined before it is read, or for GET). */
  body: unknown = undefined;
  /** The body's JSON text as received (logged as is when the project logs bodies). */
  bodyText: string | null = null;
  /** Size of the raw body in bytes (the token-limit estimate; Content-Length is absent when chunked). */
  bodyBytes = 0;
  /** Response headers set so far; sent with the answer. Names are lower-case. */
  readonly headers: Record<string, string> = {};

  constructor(
    readonly id: string,
    /** The route path ("/v1/chat/completions"), without the query string. */
    readonly path: string,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly ip: string,
    readonly log: ExchangeLog,
  ) {
    this.headers["x-request-id"] = id;
  }

  header(name: string, value: string): void {
    this.headers[name] = value;
  }

  /** Milliseconds since the request arrived. */
  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Sends a JSON answer (text already serialised, or a value) with the headers set so far. */
  sendJson(status: number, body: unknown): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    this.headers["content-type"] = "application/json; charset=utf-8";
    // writeHead stores the head at once: without a length the answer would go out chunked.
    this.headers["content-length"] = String(Buffer.byteLength(text));
    this.res.writeHead(status, this.headers);
    this.res.end(text);
  }
}
