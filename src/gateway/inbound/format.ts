/**
 * How one inbound API (OpenAI chat completions, Anthropic messages, OpenAI
 * responses) maps to
 * and from the canonical request and answer (types.ts), and how it renders a
 * stream and an error.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "../errors.js";
import type { InputBound, OutputScanner } from "../hooks.js";
import type { NativeApi, NativeEvent, NativeRequest } from "../providers/types.js";
import type { SseFrame } from "../sse.js";
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from "../types.js";

export interface InboundFormat {
  toCanonical(body: unknown): ChatRequest;
  renderResponse(res: ChatResponse, model: string): unknown;
  /** `req`: the canonical request as sent upstream (e.g. whether the client asked for stream usage). */
  streamRenderer(model: string, requestId: string, req: ChatRequest): StreamRenderer;
  errorBody(e: GatewayError, requestId: string): unknown;
  /**
   * The answer was rendered and is about to be sent (its last frames, for a stream): e.g. the Responses
   * API stores it here, so a client that chains on it at once finds it. `sent`: the request as sent
   * upstream (after the input policy).
   */
  completed?(sent: ChatRequest): Promise<void>;
  /** This API is also a provider format: requests to targets of that format go as the client wrote them. */
  native?: NativeFormat;
}

/** Same-format traffic: the client's request sent as written, the answer returned as the provider gave it. */
export interface NativeFormat {
  api: NativeApi;
  /**
   * Whether the response cache may keep this API's answers as sent: a stream is replayed by feeding the
   * events the client got to a streamer without a scanner, which must pass them through unchanged. Not for
   * APIs whose answers have identities of their own (a Responses answer is stored under its id).
   */
  cacheable: boolean;
  /** Checks the body (400s as for toCanonical) and opens it for the input policy. */
  open(body: unknown, headers: IncomingHttpHeaders): NativeOpening;
  /** A whole answer as the client receives it: after the output scanner, named after the target. */
  renderWhole(body: Record<string, unknown>, model: string, scanner: OutputScanner | undefined): unknown;
  /** Renders a stream event by event, through the output scanner. */
  streamer(model: string, scanner: OutputScanner | undefined): NativeStreamer;
}

export interface NativeOpening {
  /** The model asked for ("" when none: the project's default). */
  model: string;
  /** What the input policy scans (same-format traffic; built when first read). */
  readonly view: ChatRequest;
  /** The request translated for a target of another format (the body is checked once, by `open`). */
  translated(): ChatRequest;
  /** The request with the scan applied: as sent to same-format targets, and translated for the others. */
  finish(scanned: ChatRequest): {
    native: NativeRequest;
    canonical: ChatRequest;
    /** The canonical request lacks content (blocks without an equivalent): only same-format targets may serve it. */
    sameFormatOnly: boolean;
    input: InputBound;
  };
}

export interface NativeStreamer {
  /** Frames for one upstream event (none while the scanner holds text back, or for the closing events). */
  event(e: NativeEvent): SseFrame[];
  /** The closing frames with the final usage and the cost extension. */
  finish(usage: Usage | undefined, extra: Record<string, unknown>): SseFrame[];
  error(e: GatewayError, requestId: string): SseFrame[];
  /** The text sent so far (answer and tool input), for the log and for an estimate. */
  sent(): string;
}

export interface StreamRenderer {
  /** SSE frames for one canonical chunk (event name optional). */
  chunk(c: ChatChunk): Array<{ event?: string; data: unknown }>;
  /** Closing frames, with final usage and the Tollgate cost extension. */
  finish(usage: Usage | undefined, extra: Record<string, unknown>): SseFrame[];
  error(e: GatewayError, requestId: string): SseFrame[];
}
