/**
 * /v1/messages: Anthropic Messages in, canonical inside, Anthropic out — for
 * any provider. Invariants:
 * - Request: `system` → a leading system message; `tool_result` blocks →
 *   `tool` messages placed before the rest of that user turn; tool_use →
 *   assistant tool_calls; PDF documents → file parts (plain-text ones →
 *   text); thinking blocks are dropped; unsupported block types are a 400
 *   (never silently lost). `thinking` is not carried: an OpenAI-format
 *   model may refuse a reasoning effort it does not know.
 * - Answers: canonical reasoning becomes a leading `thinking` block only when
 *   it carries Anthropic's signature (an unsigned block would be refused when
 *   the client sends it back to Anthropic): streamed reasoning is held until
 *   its signature arrives, then sent as one block, and dropped without one.
 * - Stream: the translator emits a valid Anthropic event sequence —
 *   message_start, then content blocks that never interleave (each opened
 *   with content_block_start, closed with content_block_stop before the next
 *   opens), then message_delta (stop_reason + usage) and message_stop —
 *   whatever the canonical chunks looked like. Only choice 0 is translated.
 * - Usage out: input_tokens excludes cache reads (Anthropic semantics).
 */
import { invalidRequest } from "../errors.js";
import type { ChatChunk, ChatMessage, ChatRequest, ChatResponse, ContentPart, ToolChoice, Usage } from "../types.js";
import { usageFromOpenAI } from "../types.js";
import {
  finishToAnthropic,
  type ABlock,
  type AnthropicRequest,
  type AnthropicResponse,
  type AStopReason,
  type AText,
  type AUsage,
} from "./anthropic-wire.js";

const textOfBlocks = (c: string | Array<{ type: string; text?: string }> | undefined): string =>
  typeof c === "string"
    ? c
    : (c ?? [])
        .filter((b) => b.type === "text")
        .map((b) => b.text ?? "")
        .join("");

export function anthropicToCanonical(req: AnthropicRequest): ChatRequest {
  return translate(req, (type, i) => {
    throw invalidRequest(
      "unsupported_content",
      `Content block type "${type}" is not supported.`,
      `messages.${i}.content`,
    );
  });
}

/**
 * The canonical request for a Messages request that goes to an Anthropic-format upstream as written
 * (anthropic-native.ts): blocks without a canonical equivalent (documents, server tool results…) are
 * left out instead of refused, and `lossy` says whether any was — then only same-format targets may
 * serve it.
 */
export function anthropicToCanonicalLenient(req: AnthropicRequest): { req: ChatRequest; lossy: boolean } {
  let lossy = false;
  const lost = () => {
    lossy = true;
  };
  const out = translate(req, lost, lost);
  return { req: out, lossy };
}

/** `assistantUnknown`: an assistant block without an equivalent (the strict translation leaves those out). */
function translate(
  req: AnthropicRequest,
  unsupported: (type: string, message: number) => void,
  assistantUnknown?: () => void,
): ChatRequest {
  const messages: ChatMessage[] = [];
  const sys = typeof req.system === "string" ? req.system : textOfBlocks(req.system);
  if (sys) messages.push({ role: "system", content: sys });
  req.messages.forEach((m, i) => {
    const blocks: ABlock[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (m.role === "assistant") {
      let text = "";
      const toolCalls = [];
      for (const b of blocks) {
        if (b.type === "text") text += (b as AText).text;
        else if (b.type === "tool_use")
          toolCalls.push({
            id: b.id,
            type: "function" as const,
            function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
          });
        else if (b.type !== "thinking" && b.type !== "redacted_thinking") assistantUnknown?.();
      }
      messages.push({
        role: "assistant",
        content: text || null,
        ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
      });
      return;
    }
    const parts: ContentPart[] = [];
    for (const b of blocks) {
      if (b.type === "tool_result") {
        const content = typeof b.content === "string" ? b.content : textOfBlocks(b.content as AText[]);
        messages.push({
          role: "tool",
          tool_call_id: b.tool_use_id,
          content: b.is_error ? `Error: ${content}` : content,
        });
      } else if (b.type === "text") parts.push({ type: "text", text: (b as AText).text });
      else if (b.type === "image") {
        const src = b.source;
        parts.push({
          type: "image_url",
          image_url: { url: src.type === "base64" ? `data:${src.media_type};base64,${src.data}` : src.url },
        });
      } else if (b.type === "document" && b.source.type === "base64") {
        // A PDF: the chat format's file part (OpenAI and Gemini read it; Anthropic gets its document back).
        parts.push({
          type: "file",
          file: { file_data: `data:application/pdf;base64,${b.source.data}`, filename: b.title ?? "document.pdf" },
        });
      } else if (b.type === "document" && b.source.type === "text") parts.push({ type: "text", text: b.source.data });
      else if (b.type === "thinking" || b.type === "redacted_thinking") continue;
      else unsupported((b as { type: string }).type, i);
    }
    if (parts.length) {
      const onlyText = parts.every((p) => p.type === "text");
      messages.push({
        role: "user",
        content: onlyText ? parts.map((p) => (p as { text: string }).text).join("") : parts,
      });
    }
  });

  const out: ChatRequest = { model: req.model, messages, max_tokens: req.max_tokens };
  if (req.stop_sequences?.length) out.stop = req.stop_sequences;
  if (req.temperature != null) out.temperature = req.temperature;
  if (req.top_p != null) out.top_p = req.top_p;
  if (req.metadata?.user_id) out.user = req.metadata.user_id;
  if (req.stream) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  if (req.tools?.length) {
    out.tools = req.tools.map((t) => ({
      type: "function",
      function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema },
    }));
  }
  const tc = req.tool_choice;
  if (tc) {
    const map: Record<string, ToolChoice> = { auto: "auto", any: "required", none: "none" };
    out.tool_choice = tc.type === "tool" ? { type: "function", function: { name: tc.name } } : map[tc.type]!;
    if (tc.type !== "none" && tc.disable_parallel_tool_use) out.parallel_tool_calls = false;
  }
  return out;
}

export function usageToAnthropic(u: Usage | undefined): AUsage {
  const cached = u?.cachedInputTokens ?? 0;
  const write = u?.cacheWriteInputTokens ?? 0;
  return {
    input_tokens: Math.max(0, (u?.inputTokens ?? 0) - cached - write),
    output_tokens: u?.outputTokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: write,
  };
}

const parseArgs = (s: string): unknown => {
  try {
    return s ? JSON.parse(s) : {};
  } catch {
    return {};
  }
};

export function canonicalToAnthropicResponse(res: ChatResponse, usage?: Usage, model = res.model): AnthropicResponse {
  const choice = res.choices[0];
  const content: AnthropicResponse["content"] = [];
  const { reasoning_content: thinking, reasoning_signature: signature } = choice?.message ?? {};
  if (thinking && signature) content.push({ type: "thinking", thinking, signature });
  const text = choice?.message.content ?? "";
  if (text) content.push({ type: "text", text });
  for (const tc of choice?.message.tool_calls ?? [])
    content.push({ type: "tool_use", id: tc.id, name: tc.function.name, input: parseArgs(tc.function.arguments) });
  return {
    id: res.id.startsWith("msg_") ? res.id : `msg_${res.id.replace(/^chatcmpl-?/, "")}`,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: finishToAnthropic(choice?.finish_reason, (choice?.message.tool_calls?.length ?? 0) > 0),
    stop_sequence: null,
    usage: usageToAnthropic(usage ?? usageFromOpenAI(res.usage)),
  };
}

export interface AnthropicEvent {
  type: string;
  [k: string]: unknown;
}

/** Serialises one event the way Anthropic does (`event:` + `data:` lines). */
export const formatAnthropicSse = (e: AnthropicEvent) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** Canonical chunk stream → Anthropic event stream. Feed every chunk to push(), then call finish(). */
export class AnthropicStreamTranslator {
  private started = false;
  private finished = false;
  private open: { index: number; kind: "text" | "tool"; tool?: number } | undefined;
  private nextIndex = 0;
  private readonly toolBlocks = new Map<number, number>();
  private stop: AStopReason | undefined;
  private usage: Usage | undefined;
  private sawTools = false;
  /** Reasoning held until its signature arrives; null once the answer has moved past it. */
  private thinking: string | null = "";

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  private start(out: AnthropicEvent[]) {
    if (this.started) return;
    this.started = true;
    out.push({
      type: "message_start",
      message: {
        id: this.id,
        type: "message",
        role: "assistant",
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
  }

  private close(out: AnthropicEvent[]) {
    if (this.open) out.push({ type: "content_block_stop", index: this.open.index });
    this.open = undefined;
  }

  push(chunk: ChatChunk): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    if (this.finished) return out;
    this.start(out);
    const u = usageFromOpenAI(chunk.usage ?? undefined);
    if (u) this.usage = u;
    const ch = chunk.choices.find((c) => c.index === 0);
    if (!ch) return out;
    this.reason(out, ch.delta.reasoning_content, ch.delta.reasoning_signature);
    const text = ch.delta.content;
    if (text) {
      this.thinking = null;
      if (this.open?.kind !== "text") {
        this.close(out);
        this.open = { index: this.nextIndex++, kind: "text" };
        out.push({ type: "content_block_start", index: this.open.index, content_block: { type: "text", text: "" } });
      }
      out.push({ type: "content_block_delta", index: this.open.index, delta: { type: "text_delta", text } });
    }
    for (const d of ch.delta.tool_calls ?? []) {
      this.sawTools = true;
      this.thinking = null;
      if (!this.toolBlocks.has(d.index)) {
        this.close(out);
        const index = this.nextIndex++;
        this.toolBlocks.set(d.index, index);
        this.open = { index, kind: "tool", tool: d.index };
        out.push({
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: d.id ?? `toolu_${index}`, name: d.function?.name ?? "", input: {} },
        });
      }
      const args = d.function?.arguments;
      // Blocks cannot be reopened: fragments for an already-closed call (no real upstream interleaves) are dropped.
      if (args && this.open?.kind === "tool" && this.open.tool === d.index) {
        out.push({
          type: "content_block_delta",
          index: this.open.index,
          delta: { type: "input_json_delta", partial_json: args },
        });
      }
    }
    if (ch.finish_reason) this.stop = finishToAnthropic(ch.finish_reason, this.sawTools);
    return out;
  }

  /** Collects reasoning; a signature sends it as one signed thinking block (before any text or tool block). */
  private reason(out: AnthropicEvent[], text: string | undefined, signature: string | undefined) {
    if (this.thinking === null) return;
    if (text) this.thinking += text;
    if (!signature) return;
    const index = this.nextIndex++;
    const thinking = this.thinking;
    this.thinking = null;
    out.push(
      { type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } },
      { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking } },
      { type: "content_block_delta", index, delta: { type: "signature_delta", signature } },
      { type: "content_block_stop", index },
    );
  }

  /** Closes the message. `usage` overrides what the chunks carried (e.g. the adapter's final usage). */
  finish(usage?: Usage): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    if (this.finished) return out;
    this.start(out);
    this.close(out);
    this.finished = true;
    const u = usageToAnthropic(usage ?? this.usage);
    out.push({
      type: "message_delta",
      delta: { stop_reason: this.stop ?? (this.sawTools ? "tool_use" : "end_turn"), stop_sequence: null },
      usage: u,
    });
    out.push({ type: "message_stop" });
    return out;
  }

  /** An error event for a stream that cannot finish (the upstream failed after the first byte). */
  error(type: string, message: string): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    this.finished = true;
    out.push({ type: "error", error: { type, message } });
    return out;
  }
}
