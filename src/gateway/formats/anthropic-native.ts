/**
 * /v1/messages served by an Anthropic-format upstream: the client's own
 * request goes upstream as it was written — `cache_control`, `thinking`,
 * documents, citations, server tools, beta fields, whatever comes next — with
 * only what the security policy changed written back into it.
 *
 * The policy scans a view of the request (a canonical request with one text
 * part per text block and one tool call per tool_use block, so every string
 * it may change has one place in the original); what the scan changed is
 * written back into a copy of the original (copy-on-write along each changed
 * path, never a deep copy). Thinking blocks are not scanned: they are signed,
 * and a changed one is refused by the API on the next turn.
 */
import type { AssistantMessage, ChatMessage, ChatRequest, TextPart, ToolCall } from "../types.js";
import type { AnthropicRequest } from "./anthropic-wire.js";
import { type Path, type Slot, writeBack } from "./write-back.js";

type Json = Record<string, unknown>;

export interface NativeView {
  /** What the policy scans. */
  view: ChatRequest;
  /**
   * What the canonical request (inputBound) does not count, for the credit hold: UTF-8 bytes of the blocks
   * it leaves out (thinking, search results, server tool results…), and whether a document whose
   * tokens its bytes do not bound (a PDF) is attached.
   */
  extra: {
    bytes: number;
    unbounded: boolean;
    /** Web searches the tools allow by their `max_uses`; `uncapped`: web search tools without one. */
    serverToolCalls: number;
    uncapped: number;
  };
  /**
   * The original body with what the scan changed written back (the body itself when nothing changed), and
   * `maxUses` set on the web search tools without `max_uses`.
   */
  apply(scanned: ChatRequest, maxUses: number): AnthropicRequest;
}

const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

/** Blocks the canonical request carries (text, images, tool calls and results): the hold counts them there. */
const CANONICAL_BLOCKS = new Set(["text", "image", "tool_use", "tool_result"]);

export function nativeView(body: AnthropicRequest): NativeView {
  const messages: ChatMessage[] = [];
  const slots: Slot[] = [];
  const extra = { bytes: 0, unbounded: false, serverToolCalls: 0, uncapped: 0 };
  const countLeftOut = (blocks: unknown[]) => {
    for (const b of blocks) {
      if (!isObject(b) || CANONICAL_BLOCKS.has(String(b.type))) continue;
      if (b.type === "document" && !(isObject(b.source) && b.source.type === "text")) extra.unbounded = true;
      else extra.bytes += Buffer.byteLength(JSON.stringify(b), "utf8");
    }
  };
  const textParts = (blocks: unknown[], path: Path, role: "system" | "user" | "tool" | "assistant"): TextPart[] => {
    const parts: TextPart[] = [];
    blocks.forEach((b, j) => {
      if (!isObject(b)) return;
      if (b.type === "text" && typeof b.text === "string") {
        slots.push({ message: messages.length, part: parts.length, path: [...path, j, "text"] });
        parts.push({ type: "text", text: b.text });
      } else if (role === "user" && b.type === "document" && isObject(b.source) && b.source.type === "text") {
        // A plain-text document is text the model reads: scanned like any other.
        if (typeof b.source.data === "string") {
          slots.push({ message: messages.length, part: parts.length, path: [...path, j, "source", "data"] });
          parts.push({ type: "text", text: b.source.data });
        }
      }
    });
    return parts;
  };

  if (typeof body.system === "string") {
    slots.push({ message: 0, part: -1, path: ["system"] });
    messages.push({ role: "system", content: body.system });
  } else if (Array.isArray(body.system)) {
    messages.push({ role: "system", content: textParts(body.system, ["system"], "system") });
  }

  body.messages.forEach((m, i) => {
    const path: Path = ["messages", i, "content"];
    if (typeof m.content === "string") {
      slots.push({ message: messages.length, part: -1, path });
      messages.push(
        m.role === "assistant" ? { role: "assistant", content: m.content } : { role: "user", content: m.content },
      );
      return;
    }
    if (!Array.isArray(m.content)) return;
    const blocks = m.content as unknown[];
    countLeftOut(blocks);
    if (m.role === "assistant") {
      const msg: AssistantMessage = { role: "assistant", content: null };
      const calls: ToolCall[] = [];
      const at = messages.length;
      msg.content = textParts(blocks, path, "assistant");
      blocks.forEach((b, j) => {
        if (isObject(b) && b.type === "tool_use" && typeof b.name === "string") {
          slots.push({ message: at, part: calls.length, args: true, parsed: true, path: [...path, j, "input"] });
          calls.push({
            id: String(b.id ?? ""),
            type: "function",
            function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
          });
        }
      });
      if (calls.length) msg.tool_calls = calls;
      messages.push(msg);
      return;
    }
    // Tool results are untrusted text (scored for prompt injection like user text): one tool message each.
    blocks.forEach((b, j) => {
      if (!isObject(b) || b.type !== "tool_result") return;
      const content = b.content;
      const at: Path = [...path, j, "content"];
      if (typeof content === "string") {
        slots.push({ message: messages.length, part: -1, path: at });
        messages.push({ role: "tool", tool_call_id: String(b.tool_use_id ?? ""), content });
      } else if (Array.isArray(content)) {
        const parts = textParts(content, at, "tool");
        if (parts.length) messages.push({ role: "tool", tool_call_id: String(b.tool_use_id ?? ""), content: parts });
      }
    });
    const parts = textParts(blocks, path, "user");
    if (parts.length) messages.push({ role: "user", content: parts });
  });

  // Server tools: search and fetch results enter the input; searches are billed per use, so a web search tool
  // without `max_uses` gets one (the credit hold must be a true upper bound).
  const uncapped: number[] = [];
  (body.tools ?? []).forEach((t, i) => {
    const type = isObject(t) && typeof t.type === "string" ? t.type : "";
    if (type.startsWith("web_search") || type.startsWith("web_fetch")) extra.unbounded = true;
    if (!type.startsWith("web_search")) return;
    const uses = (t as { max_uses?: unknown }).max_uses;
    if (typeof uses === "number") extra.serverToolCalls += uses;
    else uncapped.push(i);
  });
  extra.uncapped = uncapped.length;
  const view: ChatRequest = { model: body.model, messages };
  return {
    view,
    extra,
    apply(scanned, maxUses) {
      const out = writeBack(body, view, scanned, slots);
      if (!uncapped.length) return out;
      const tools = (out.tools ?? []).map((t, i) => (uncapped.includes(i) ? { ...t, max_uses: maxUses } : t));
      return { ...out, tools } as AnthropicRequest;
    },
  };
}
