/**
 * Server-sent events to the client on a hijacked response. Writes respect
 * backpressure (a slow client slows the upstream read instead of growing
 * memory), comment heartbeats keep idle proxies from closing a quiet stream,
 * and trailers (the cost) may follow the last event.
 *
 * Frames are coalesced: the first ones go out at once with the headers; after
 * them, everything written while the event loop works on one turn (the events
 * of one upstream read, say) goes to the socket in ONE write at the end of that
 * turn (`setImmediate`), or at once past 64 KiB. A write per
 * event cost a system call per event, most of a streamed request's CPU beyond
 * parsing; the client sees the same bytes, no later than the end of the turn
 * that produced them.
 */
import type { ServerResponse } from "node:http";

export interface SseWriter {
  readonly started: boolean;
  /** Sets the status line and headers (once); they go out with the first frames, at the latest at the end of this turn. */
  start(headers: Record<string, string | number | string[] | undefined>): void;
  data(payload: unknown): Promise<void>;
  event(name: string, payload: unknown): Promise<void>;
  raw(text: string): Promise<void>;
  /**
   * Frames to send. Returns a promise only when the socket asked to wait (backpressure); otherwise
   * undefined, so the common case costs no promise per write.
   */
  frames(frames: ReadonlyArray<SseFrame>): Promise<void> | undefined;
  comment(text: string): void;
  /** Sends what is pending and ends the stream; `trailers` (declared in a `Trailer` header at the start) follow the last chunk. */
  end(trailers?: Record<string, string>): void;
}

export type SseFrame = { event?: string; data: unknown } | { raw: string };

/** Pending text past this is written at once instead of at the end of the turn. */
const FLUSH_AT = 64 * 1024;

const frameText = (f: SseFrame): string =>
  "raw" in f
    ? f.raw
    : f.event
      ? `event: ${f.event}\ndata: ${JSON.stringify(f.data)}\n\n`
      : `data: ${JSON.stringify(f.data)}\n\n`;

export function createSseWriter(res: ServerResponse): SseWriter {
  let started = false;
  let pending = "";
  let scheduled = false;
  /** Set while the socket's buffer is over its mark: resolves at `drain` (or close). */
  let draining: Promise<void> | undefined;
  const closed = () => res.destroyed || res.writableEnded;
  const waitDrain = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        draining = undefined;
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  const flush = () => {
    scheduled = false;
    if (closed()) {
      pending = "";
      return;
    }
    if (!pending) {
      if (!res.headersSent) res.flushHeaders();
      return;
    }
    const text = pending;
    pending = "";
    if (!res.write(text) && !draining) draining = waitDrain();
  };
  const queue = (text: string): Promise<void> | undefined => {
    if (closed()) return undefined;
    pending += text;
    // The first frames go out at once, with the headers: the client's first byte never waits for the turn.
    if (pending.length >= FLUSH_AT || !res.headersSent) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return draining;
  };
  const write = (text: string) => queue(text) ?? Promise.resolve();
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
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    data: (payload) => write(`data: ${JSON.stringify(payload)}\n\n`),
    event: (name, payload) => write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`),
    raw: (text) => write(text),
    frames(frames) {
      let text = "";
      for (const f of frames) text += frameText(f);
      return text ? queue(text) : draining;
    },
    comment(text) {
      queue(`: ${text}\n\n`);
    },
    end(trailers) {
      if (res.writableEnded) return;
      if (trailers && Object.keys(trailers).length > 0) res.addTrailers(trailers);
      const text = pending;
      pending = "";
      if (text && !res.destroyed) res.end(text);
      else res.end();
    },
  };
}
