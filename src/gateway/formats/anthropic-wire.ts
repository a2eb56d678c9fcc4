/**
 * Anthropic Messages API wire types (the subset Tollgate reads and writes),
 * shared by the upstream adapter and the inbound /v1/messages translation,
 * plus the stop-reason mapping both directions use.
 */
import type { FinishReason } from "../types.js";

export interface AText {
  type: "text";
  text: string;
  cache_control?: unknown;
}
export interface AImage {
  type: "image";
  source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string };
}
export interface AToolUse {
  type: "tool_use";
  id: string;
  name: string;
  input: unknown;
}
export interface AToolResult {
  type: "tool_result";
  tool_use_id: string;
  content?: string | Array<AText | AImage>;
  is_error?: boolean;
}
export interface AThinking {
  type: "thinking" | "redacted_thinking";
  [k: string]: unknown;
}
/** A PDF (or plain text) the model reads; the translated path carries base64 PDFs only. */
export interface ADocument {
  type: "document";
  source:
    | { type: "base64"; media_type: "application/pdf"; data: string }
    | { type: "text"; media_type: "text/plain"; data: string };
  title?: string;
}
export type ABlock = AText | AImage | AToolUse | AToolResult | AThinking | ADocument;

export interface AMessage {
  role: "user" | "assistant";
  content: string | ABlock[];
}

export interface ATool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  type?: string;
}
export type AToolChoice =
  | { type: "auto" | "any" | "none"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AMessage[];
  system?: string | AText[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stream?: boolean;
  tools?: ATool[];
  tool_choice?: AToolChoice;
  metadata?: { user_id?: string };
}

export type AStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal";

export interface AUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export interface AnthropicResponse {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Array<AText | AToolUse | AThinking>;
  stop_reason: AStopReason | null;
  stop_sequence: string | null;
  usage: AUsage;
}

export function finishFromAnthropic(r: string | null | undefined): FinishReason | null {
  switch (r) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop";
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return null;
    default:
      return "stop";
  }
}

export function finishToAnthropic(r: FinishReason | null | undefined, hadToolCalls = false): AStopReason {
  switch (r) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return hadToolCalls ? "tool_use" : "end_turn";
  }
}

/** data:<media>;base64,<data> → parts, else undefined. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, data: m[2]! } : undefined;
}

/** The base64 data of a PDF sent as an OpenAI `file` part (`file_data` as a data: URL), if it is one. */
export function pdfData(p: { type: string }): string | undefined {
  const data = (p as { file?: { file_data?: unknown } }).file?.file_data;
  const d = typeof data === "string" ? parseDataUrl(data) : undefined;
  return d?.mediaType === "application/pdf" ? d.data : undefined;
}
