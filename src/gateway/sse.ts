/**
 * Server-sent events to the client on a hijacked response. Writes respect
 * backpressure (a slow client slows the upstream read instead of growing
 * memory), and comment heartbeats keep idle proxies from closing a quiet stream.
 */
import type { ServerResponse } from "node:http";

export interface SseWriter {
  readonly started: boolean;
  /** Sends the status line and headers (once). */
  start(headers: Record<string, string | number | string[] | undefined>): void;
  data(payload: unknown): Promise<void>;
  event(name: string, payload: unknown): Promise<void>;
  raw(text: string): Promise<void>;
  comment(text: string): void;
  end(): void;
}

export function createSseWriter(res: ServerResponse): SseWriter {
  let started = false;
  const write = (text: string) =>
    new Promise<void>((resolve) => {
      if (res.destroyed || res.writableEnded) return resolve();
      if (res.write(text)) return resolve();
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  return {
    get started() {
      return started;
    },
    start(headers) {
      if (started) return;
      started = true;
      const h: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
      res.writeHead(200, { ...h, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" });
      res.flushHeaders();
    },
    data: (payload) => write(`data: ${JSON.stringify(payload)}\n\n`),
    event: (name, payload) => write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`),
    raw: (text) => write(text),
    comment(text) {
      if (!res.destroyed && !res.writableEnded) res.write(`: ${text}\n\n`);
    },
    end() {
      if (!res.writableEnded) res.end();
    },
  };
}
