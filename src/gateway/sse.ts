/**
 * Server-sent events to the client on a hijacked response. Writes respect
 * backpressure (a slow client slows the upstream read instead of growing
 * memory), comment heartbeats keep idle proxies from closing a quiet stream,
 * and trailers (the cost) may follow the last event.
 */
import type { ServerResponse } from "node:http";

export interface SseWriter {
  readonly started: boolean;
  /** Sends the status line and headers (once). */
  start(headers: Record<string, string | number | string[] | undefined>): void;
  data(payload: unknown): Promise<void>;
  event(name: string, payload: unknown): Promise<void>;
  raw(text: string): Promise<void>;
  /**
   * Several frames in one socket write. Returns a promise only when the socket
   * asked to wait (backpressure); otherwise undefined, so the common case costs
   * no promise per write.
   */
  frames(frames: ReadonlyArray<SseFrame>): Promise<void> | undefined;
  comment(text: string): void;
  /** Ends the stream; `trailers` (declared in a `Trailer` header at the start) follow the last chunk. */
  end(trailers?: Record<string, string>): void;
}

export type SseFrame = { event?: string; data: unknown } | { raw: string };

export function createSseWriter(res: ServerResponse): SseWriter {
  let started = false;
  const waitDrain = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  const writeNow = (text: string): Promise<void> | undefined => {
    if (res.destroyed || res.writableEnded) return undefined;
    return res.write(text) ? undefined : waitDrain();
  };
  const write = (text: string) => writeNow(text) ?? Promise.resolve();
  return {
    get started() {
      return started;
    },
    start(headers) {
      if (started) return;
      started = true;
      const h: Record<string, string | number | string[]> = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
      res.writeHead(200, {
        ...h,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.flushHeaders();
    },
    data: (payload) => write(`data: ${JSON.stringify(payload)}\n\n`),
    event: (name, payload) => write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`),
    raw: (text) => write(text),
    frames(frames) {
      let text = "";
      for (const f of frames) {
        if ("raw" in f) text += f.raw;
        else if (f.event) text += `event: ${f.event}\ndata: ${JSON.stringify(f.data)}\n\n`;
        else text += `data: ${JSON.stringify(f.data)}\n\n`;
      }
      return text ? writeNow(text) : undefined;
    },
    comment(text) {
      if (!res.destroyed && !res.writableEnded) res.write(`: ${text}\n\n`);
    },
    end(trailers) {
      if (res.writableEnded) return;
      if (trailers && Object.keys(trailers).length > 0) res.addTrailers(trailers);
      res.end();
    },
  };
}
