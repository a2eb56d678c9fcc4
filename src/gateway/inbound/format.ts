/**
 * How one inbound API (OpenAI chat completions, Anthropic messages, OpenAI
 * responses) maps to
 * and from the canonical request and answer (types.ts), and how it renders a
 * stream and an error.
 */
import type { GatewayError } from "../errors.js";
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
}

export interface StreamRenderer {
  /** SSE frames for one canonical chunk (event name optional). */
  chunk(c: ChatChunk): Array<{ event?: string; data: unknown }>;
  /** Closing frames, with final usage and the Tollgate cost extension. */
  finish(usage: Usage | undefined, extra: Record<string, unknown>): SseFrame[];
  error(e: GatewayError, requestId: string): SseFrame[];
}
