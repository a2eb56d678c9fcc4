/**
 * The one upstream transport every HTTP adapter uses (built-in providers and
 * organizations' custom providers alike). Invariants:
 * - One failure per call: the caller's signal, the four timeouts, a network
 *   error and our own close() all end the call with an UpstreamError naming
 *   the phase that failed (connect / first byte / idle / total), and the
 *   request is aborted through undici's dispatch controller at once (or as
 *   soon as undici hands the request over, if it is still waiting for a socket).
 * - Phases are observed by our own dispatch handler: request written → connect
 *   phase over; status line → first byte; each body chunk → idle deadline moved.
 *   Idle is measured on socket data; the body queue pauses the socket past
 *   HIGH_WATER, so a consumer that stops reading ends in a timeout rather than
 *   a leaked socket or unbounded memory.
 * - Redirects are never followed (a dispatch does not follow); any non-2xx
 *   becomes an `http` UpstreamError carrying the upstream's message, scrubbed
 *   of the API key, and Retry-After when given.
 * - Only HTTP status, the upstream's error text and error codes go into
 *   messages: never URLs (a custom base URL may carry secrets), never headers.
 */
import type { Dispatcher } from "undici";
import { injectTraceContext } from "../../trace.js";
import { UpstreamError, type CallOptions } from "../types.js";
import { classifyNetworkError, httpError } from "./errors.js";

export interface UpstreamCall {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Body chunks; throws UpstreamError. Cleans up when done, broken off, or failed. */
  chunks(): AsyncGenerator<Buffer, void, undefined>;
  /** Whole body as JSON (throws `protocol` on bad JSON). */
  json(): Promise<unknown>;
  /** Stop reading: abort the upstream request if still open and clear timers. */
  close(): void;
}

export interface PostOptions {
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON; a Buffer is sent as it is (a multipart body, with its content type in `headers`). */
  body: unknown;
  /** GET sends no body (a list endpoint); POST by default. */
  method?: "POST" | "GET";
  opts: CallOptions;
  /** Used only to scrub echoed keys from upstream error text. */
  apiKey?: string;
  /** Provider label for messages, e.g. "anthropic". */
  label: string;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_BODY = 32 * 1024 * 1024;

/** Bytes buffered from an upstream body before the socket is paused until the consumer reads on. */
const HIGH_WATER = 256 * 1024;

const targets = new Map<string, { origin: string; path: string }>();
/** Origin and path of a URL (providers call a handful of URLs: the split is cached, bounded). */
function splitUrl(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: u.pathname + u.search };
    if (targets.size >= 1_000) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/**
 * POST JSON; resolves once a 2xx status line arrived, otherwise throws a classified UpstreamError.
 * Talks to the dispatcher through its handler interface (no Readable stream, no per-call
 * AbortController): the body arrives as chunks in a small queue that pauses the socket past
 * HIGH_WATER, and the dispatch controller aborts the request.
 */
export async function postJson(p: PostOptions): Promise<UpstreamCall> {
  const { opts } = p;
  const t = opts.timeouts;
  let phase: "connect" | "first_byte" | "body" | "done" = "connect";
  /** Set once the request is underway (undici hands it over when the request is written). */
  let controller: Dispatcher.DispatchController | null = null;
  /** The first failure (timeout, caller abort, network, close): it ends the call for good. */
  let failure: UpstreamError | null = null;
  let status = 0;
  let headers: Record<string, string | string[] | undefined> = {};
  let queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let onStarted!: () => void;
  let onStartFailed!: (e: UpstreamError) => void;
  const started = new Promise<void>((resolve, reject) => {
    onStarted = resolve;
    onStartFailed = reject;
  });
  // Awaited below; a dispatcher that throws before that must not leave an unhandled rejection.
  started.catch(() => undefined);

  // Deadlines instead of a timer per phase and per body chunk: moving a deadline later is
  // an assignment; the one timer is re-armed only when it fires early or a deadline moves
  // earlier (a stream's idle deadline moves on every chunk).
  const totalAt = performance.now() + t.totalMs;
  let phaseAt = Infinity;
  let phaseError: () => UpstreamError = () => new UpstreamError("timeout_total", "");
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const schedule = () => {
    const at = Math.min(totalAt, phaseAt);
    if (timer !== undefined && at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(onTimer, Math.max(0, at - performance.now()));
  };
  function onTimer() {
    timer = undefined;
    timerAt = Infinity;
    if (phase === "done") return;
    const now = performance.now();
    if (now >= totalAt) fail(new UpstreamError("timeout_total", `${p.label} did not complete within ${t.totalMs} ms`));
    else if (now >= phaseAt) fail(phaseError());
    else schedule();
  }
  const armPhase = (ms: number, make: () => UpstreamError) => {
    phaseAt = performance.now() + ms;
    phaseError = make;
    schedule();
  };
  const onCallerAbort = () => fail(new UpstreamError("aborted", `${p.label} request aborted by the caller`));
  const cleanup = () => {
    phase = "done";
    clearTimeout(timer);
    timer = undefined;
    opts.signal.removeEventListener("abort", onCallerAbort);
  };
  /** Ends the call with `e`: the request is aborted (now, or as soon as undici hands it over). */
  function fail(e: UpstreamError) {
    if (failure || phase === "done") return;
    failure = e;
    cleanup();
    queue = [];
    controller?.abort(e);
    onStartFailed(e);
    notify();
  }

  if (opts.signal.aborted) {
    cleanup();
    throw new UpstreamError("aborted", `${p.label} request aborted by the caller`);
  }
  opts.signal.addEventListener("abort", onCallerAbort, { once: true });
  armPhase(
    t.connectMs,
    () => new UpstreamError("timeout_connect", `${p.label}: no connection within ${t.connectMs} ms`),
  );

  const idle = () => new UpstreamError("timeout_idle", `${p.label} went silent for ${t.idleMs} ms mid-response`);
  const handler: Dispatcher.DispatchHandler = {
    // undici hands the request over once it is written to a socket: the connect phase is over.
    onRequestStart(c) {
      controller = c;
      if (failure) return c.abort(failure);
      if (phase === "connect") {
        phase = "first_byte";
        armPhase(
          t.firstByteMs,
          () => new UpstreamError("timeout_first_byte", `${p.label} sent no response within ${t.firstByteMs} ms`),
        );
      }
    },
    onResponseStart(_c, statusCode, h) {
      if (failure) return;
      status = statusCode;
      headers = h as Record<string, string | string[] | undefined>;
      phase = "body";
      armPhase(t.idleMs, idle);
      onStarted();
    },
    onResponseData(c, chunk) {
      if (failure) return;
      armPhase(t.idleMs, idle);
      queue.push(chunk);
      queued += chunk.length;
      if (queued > HIGH_WATER) c.pause();
      notify();
    },
    onResponseEnd() {
      if (failure) return;
      ended = true;
      cleanup();
      notify();
    },
    onResponseError(_c, err) {
      if (failure || ended) return;
      fail(err instanceof UpstreamError ? err : classifyNetworkError(err, phase === "connect", p.label));
    },
  };

  const { origin, path } = splitUrl(p.url);
  // The attempt's span context, as `traceparent` (tracing on only: trace.ts).
  injectTraceContext(p.headers);
  try {
    opts.dispatcher.dispatch(
      // Our own timers classify the phases; undici's would only blur them. Redirects are not followed.
      {
        origin,
        path,
        method: p.method ?? "POST",
        headers: p.headers,
        body: p.method === "GET" ? null : Buffer.isBuffer(p.body) ? p.body : JSON.stringify(p.body),
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
    await started;
  } catch (err) {
    const e = err instanceof UpstreamError ? err : classifyNetworkError(err, phase === "connect", p.label);
    fail(e);
    throw failure ?? e;
  }

  let consumed = false;
  const close = () => {
    if (phase !== "done") fail(new UpstreamError("aborted", `${p.label} response closed by the gateway`));
  };
  /** The body can be read once (as chunks or whole). */
  const claimBody = () => {
    if (consumed) throw new Error("body already consumed");
    consumed = true;
  };
  /** The chunks queued so far; the socket resumes if it was paused for them. */
  const takeQueued = (): Buffer[] => {
    const batch = queue;
    queue = [];
    queued = 0;
    if (controller?.paused) controller.resume();
    return batch;
  };
  /** Resolves at the next chunk, the end or a failure. */
  const nextEvent = () => new Promise<void>((resolve) => (wake = resolve));

  async function* chunks(): AsyncGenerator<Buffer, void, undefined> {
    claimBody();
    try {
      for (;;) {
        if (queue.length > 0) {
          for (const c of takeQueued()) yield c;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        await nextEvent();
      }
    } finally {
      close();
    }
  }

  /** The whole body (no generator in between: most calls are non-streaming). */
  const readAll = async (limit: number): Promise<Buffer> => {
    claimBody();
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for (;;) {
        if (queue.length > 0) {
          for (const c of takeQueued()) {
            size += c.length;
            if (size > limit) {
              if (limit === MAX_ERROR_BODY) return Buffer.concat(parts);
              throw new UpstreamError("protocol", `${p.label} response body exceeds ${limit} bytes`);
            }
            parts.push(c);
          }
          continue;
        }
        if (failure) throw failure;
        if (ended) return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        await nextEvent();
      }
    } finally {
      close();
    }
  };

  if (status < 200 || status >= 300) {
    let text = "";
    try {
      text = (await readAll(MAX_ERROR_BODY)).toString("utf8");
    } catch {
      // The status alone is the error; a broken error body changes nothing.
    }
    throw httpError(p.label, status, headers, text, p.apiKey);
  }

  return {
    status,
    headers,
    chunks,
    close,
    async json() {
      const buf = await readAll(MAX_JSON_BODY);
      try {
        return JSON.parse(buf.toString("utf8"));
      } catch {
        throw new UpstreamError("protocol", `${p.label} returned a body that is not JSON`);
      }
    },
  };
}
