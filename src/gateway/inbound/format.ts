/**
 * How one inbound API (OpenAI chat completions, Anthropic messages) maps to
 * and from the canonical request and answer (types.ts), and how it renders a
 * stream and an error.
 */
import type { GatewayError } from "../errors.js";
import type { SseFrame } from "../sse.js";
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from "../types.js";

export interface InboundFormat {
  endpoint: "chat" | "messages";
  toCanonical(body: unknown): ChatRequest;
  renderResponse(res: ChatResponse, model: string): unknown;
  streamRenderer(model: string, requestId: string): StreamRenderer;
  errorBody(e: GatewayError, requestId: string): unknown;
}

export interface StreamRenderer {
  /** SSE frames for one canonical chunk (event name optional). */
  chunk(c: ChatChunk): Array<{ event?: string; data: unknown }>;
  /** Closing frames, with final usage and the Tollgate cost extension. */
  finish(usage: Usage | undefined, extra: Record<string, unknown>): SseFrame[];
  error(e: GatewayError, requestId: string): SseFrame[];
}
