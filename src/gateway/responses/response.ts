/**
 * Chat answers rendered as Responses API objects: a whole response, or a
 * stream of its typed events (`response.created` … `response.completed`),
 * each with its `sequence_number`. Choice 0 is the answer (the Responses API
 * has one output); its text becomes a `message` item, each tool call a
 * `function_call` item, in the order they came. Its reasoning comes first, as
 * a `reasoning` item with the text as its one summary part; Anthropic's
 * signature rides in `encrypted_content` as `anthropic:<signature>` when the
 * request's `include` asks for "reasoning.encrypted_content" — the only
 * reasoning a later turn turns back into a thinking block (signedReasoning).
 */
import type { ChatChunk, ChatResponse, Usage } from "../types.js";
import { usageToOpenAI } from "../types.js";
import type {
  OutputFunctionCall,
  OutputItem,
  OutputMessage,
  OutputReasoning,
  ReasoningItem,
  ResponseObject,
  ResponsesRequest,
} from "./wire.js";
import { responsesUsage } from "./wire.js";
import type { AssistantMessage, FinishReason } from "../types.js";

/** Marks the encrypted_content Tollgate made from Anthropic's thinking signature. */
export const ANTHROPIC_REASONING = "anthropic:";

/** Responses whose request asked for include "reasoning.encrypted_content". */
const wantsEncrypted = new WeakSet<ResponseObject>();

/** The reasoning text and Anthropic signature of a reasoning item Tollgate made, else undefined (OpenAI's own, or none). */
export function signedReasoning(
  item: Pick<ReasoningItem, "summary" | "encrypted_content">,
): { reasoning_content: string; reasoning_signature: string } | undefined {
  const sealed = item.encrypted_content;
  if (typeof sealed !== "string" || !sealed.startsWith(ANTHROPIC_REASONING)) return undefined;
  const signature = sealed.slice(ANTHROPIC_REASONING.length);
  const summary = Array.isArray(item.summary) ? item.summary : [];
  const text = summary.map((p) => (typeof p?.text === "string" ? p.text : "")).join("");
  return signature && text ? { reasoning_content: text, reasoning_signature: signature } : undefined;
}

function reasoningItem(r: ResponseObject, id: string, text: string, signature: string | undefined): OutputReasoning {
  return {
    type: "reasoning",
    id,
    summary: [{ type: "summary_text", text }],
    ...(signature && wantsEncrypted.has(r) ? { encrypted_content: ANTHROPIC_REASONING + signature } : {}),
    status: "completed",
  };
}

/** The response as it starts: what was asked, no output yet. */
export function responseShell(b: ResponsesRequest, id: string, model: string, createdAt: number): ResponseObject {
  const shell = shellOf(b, id, model, createdAt);
  if (Array.isArray(b.include) && b.include.includes("reasoning.encrypted_content")) wantsEncrypted.add(shell);
  return shell;
}

function shellOf(b: ResponsesRequest, id: string, model: string, createdAt: number): ResponseObject {
  return {
    id,
    object: "response",
    created_at: createdAt,
    status: "in_progress",
    error: null,
    incomplete_details: null,
    instructions: typeof b.instructions === "string" ? b.instructions : null,
    max_output_tokens: typeof b.max_output_tokens === "number" ? b.max_output_tokens : null,
    model,
    output: [],
    parallel_tool_calls: b.parallel_tool_calls !== false,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: b.reasoning?.summary ?? null },
    store: b.store !== false,
    temperature: typeof b.temperature === "number" ? b.temperature : 1,
    text: { format: b.text?.format ?? { type: "text" } },
    tool_choice: b.tool_choice ?? "auto",
    tools: b.tools ?? [],
    top_p: typeof b.top_p === "number" ? b.top_p : 1,
    truncation: b.truncation === "auto" ? "auto" : "disabled",
    usage: null,
    user: typeof b.user === "string" ? b.user : null,
    metadata: b.metadata ?? {},
  };
}

function settle(r: ResponseObject, finish: FinishReason | null, usage: Usage | undefined): ResponseObject {
  if (finish === "length") {
    r.status = "incomplete";
    r.incomplete_details = { reason: "max_output_tokens" };
  } else if (finish === "content_filter") {
    r.status = "incomplete";
    r.incomplete_details = { reason: "content_filter" };
  } else r.status = "completed";
  for (const item of r.output) item.status = r.status === "incomplete" ? "incomplete" : "completed";
  r.usage = usage ? responsesUsage(usageToOpenAI(usage)) : null;
  return r;
}

/** A whole chat answer as a finished response (`shell` is filled in). */
export function fromChat(
  shell: ResponseObject,
  res: ChatResponse,
  usage: Usage | undefined,
  ids: ItemIds,
): ResponseObject {
  const choice = res.choices[0];
  const message = choice?.message;
  if (message?.reasoning_content)
    shell.output.push(reasoningItem(shell, ids.next("rs"), message.reasoning_content, message.reasoning_signature));
  if (message?.refusal)
    shell.output.push(messageItem(ids.next("msg"), [{ type: "refusal", refusal: message.refusal }]));
  else if (typeof message?.content === "string" && message.content)
    shell.output.push(
      messageItem(ids.next("msg"), [{ type: "output_text", text: message.content, annotations: [], logprobs: [] }]),
    );
  for (const c of message?.tool_calls ?? []) {
    shell.output.push({
      type: "function_call",
      id: ids.next("fc"),
      call_id: c.id,
      name: c.function.name,
      arguments: c.function.arguments,
      status: "completed",
    });
  }
  return settle(shell, choice?.finish_reason ?? null, usage);
}

function messageItem(id: string, content: OutputMessage["content"]): OutputMessage {
  return { type: "message", id, status: "completed", role: "assistant", content };
}

/** The answer as the assistant turn of the stored conversation (what the next turn sends back). */
export function outputMessage(output: readonly OutputItem[]): AssistantMessage {
  const msg: AssistantMessage = { role: "assistant", content: "" };
  for (const item of output) {
    if (item.type === "reasoning") {
      const signed = msg.reasoning_signature ? undefined : signedReasoning(item);
      if (signed) Object.assign(msg, signed);
    } else if (item.type === "message") {
      for (const part of item.content)
        if (part.type === "output_text") msg.content += part.text;
        else msg.refusal = part.refusal;
    } else if (item.type === "function_call") {
      msg.tool_calls ??= [];
      msg.tool_calls.push({
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: item.arguments },
      });
    }
  }
  if (msg.content === "" && msg.tool_calls) msg.content = null;
  return msg;
}

/** Item ids of one response: `msg_<response>_<n>`, `fc_<response>_<n>`, `rs_<response>_<n>`. */
export class ItemIds {
  private n = 0;
  constructor(private readonly base: string) {}
  next(prefix: "msg" | "fc" | "rs"): string {
    return `${prefix}_${this.base}_${this.n++}`;
  }
}

export interface ResponseEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

/** Chat chunks (choice 0) → Responses stream events. */
export class ResponsesStreamTranslator {
  private seq = 0;
  private started = false;
  private text: { item: OutputMessage; index: number; part: "output_text" | "refusal"; value: string } | null = null;
  /** Open function calls by their chat tool-call index. */
  private readonly calls = new Map<number, { item: OutputFunctionCall; index: number }>();
  /** The open reasoning item: its text so far and Anthropic's signature once it came. */
  private thought: { item: OutputReasoning; index: number; value: string; signature?: string } | null = null;
  private finish: FinishReason | null = null;

  constructor(
    private readonly response: ResponseObject,
    private readonly ids: ItemIds,
  ) {}

  private event(type: string, fields: Record<string, unknown>): ResponseEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  /** `response.created` and `response.in_progress` (once). */
  start(): ResponseEvent[] {
    if (this.started) return [];
    this.started = true;
    const snapshot = { ...this.response, output: [] };
    return [
      this.event("response.created", { response: snapshot }),
      this.event("response.in_progress", { response: snapshot }),
    ];
  }

  push(chunk: ChatChunk): ResponseEvent[] {
    const out = this.start();
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const d = choice.delta;
      if (typeof d.reasoning_content === "string" && d.reasoning_content) this.reasoningDelta(out, d.reasoning_content);
      if (d.reasoning_signature && this.thought) this.thought.signature = d.reasoning_signature;
      if (typeof d.refusal === "string" && d.refusal) this.textDelta(out, "refusal", d.refusal);
      if (typeof d.content === "string" && d.content) this.textDelta(out, "output_text", d.content);
      for (const t of d.tool_calls ?? []) {
        let open = this.calls.get(t.index);
        if (!open) {
          this.closeReasoning(out);
          this.closeText(out);
          const item: OutputFunctionCall = {
            type: "function_call",
            id: this.ids.next("fc"),
            call_id: t.id ?? "",
            name: t.function?.name ?? "",
            arguments: "",
            status: "in_progress",
          };
          open = { item, index: this.response.output.length };
          this.response.output.push(item);
          this.calls.set(t.index, open);
          out.push(this.event("response.output_item.added", { output_index: open.index, item: { ...item } }));
        }
        const args = t.function?.arguments;
        if (args) {
          open.item.arguments += args;
          out.push(
            this.event("response.function_call_arguments.delta", {
              item_id: open.item.id,
              output_index: open.index,
              delta: args,
            }),
          );
        }
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
    return out;
  }

  /** A reasoning item (one summary part) opened at the first piece, after whatever item was open. */
  private reasoningDelta(out: ResponseEvent[], delta: string): void {
    if (!this.thought) {
      this.closeText(out);
      const item: OutputReasoning = { type: "reasoning", id: this.ids.next("rs"), summary: [], status: "in_progress" };
      this.thought = { item, index: this.response.output.length, value: "" };
      this.response.output.push(item);
      const at = { item_id: item.id, output_index: this.thought.index, summary_index: 0 };
      out.push(
        this.event("response.output_item.added", { output_index: this.thought.index, item: { ...item, summary: [] } }),
        this.event("response.reasoning_summary_part.added", { ...at, part: { type: "summary_text", text: "" } }),
      );
    }
    this.thought.value += delta;
    out.push(
      this.event("response.reasoning_summary_text.delta", {
        item_id: this.thought.item.id,
        output_index: this.thought.index,
        summary_index: 0,
        delta,
      }),
    );
  }

  private closeReasoning(out: ResponseEvent[]): void {
    const t = this.thought;
    if (!t) return;
    this.thought = null;
    const done = reasoningItem(this.response, t.item.id, t.value, t.signature);
    Object.assign(t.item, done);
    const at = { item_id: t.item.id, output_index: t.index, summary_index: 0 };
    out.push(
      this.event("response.reasoning_summary_text.done", { ...at, text: t.value }),
      this.event("response.reasoning_summary_part.done", { ...at, part: { type: "summary_text", text: t.value } }),
      this.event("response.output_item.done", { output_index: t.index, item: t.item }),
    );
  }

  private textDelta(out: ResponseEvent[], part: "output_text" | "refusal", delta: string): void {
    this.closeReasoning(out);
    if (this.text && this.text.part !== part) this.closeText(out);
    if (!this.text) {
      const item: OutputMessage = {
        type: "message",
        id: this.ids.next("msg"),
        status: "in_progress",
        role: "assistant",
        content: [],
      };
      this.text = { item, index: this.response.output.length, part, value: "" };
      this.response.output.push(item);
      out.push(
        this.event("response.output_item.added", { output_index: this.text.index, item: { ...item, content: [] } }),
      );
      out.push(
        this.event("response.content_part.added", {
          item_id: item.id,
          output_index: this.text.index,
          content_index: 0,
          part:
            part === "refusal"
              ? { type: "refusal", refusal: "" }
              : { type: "output_text", text: "", annotations: [], logprobs: [] },
        }),
      );
    }
    this.text.value += delta;
    const at = { item_id: this.text.item.id, output_index: this.text.index, content_index: 0 };
    out.push(
      part === "refusal"
        ? this.event("response.refusal.delta", { ...at, delta })
        : this.event("response.output_text.delta", { ...at, delta, logprobs: [] }),
    );
  }

  private closeText(out: ResponseEvent[]): void {
    const t = this.text;
    if (!t) return;
    this.text = null;
    const at = { item_id: t.item.id, output_index: t.index, content_index: 0 };
    const part =
      t.part === "refusal"
        ? { type: "refusal" as const, refusal: t.value }
        : { type: "output_text" as const, text: t.value, annotations: [], logprobs: [] };
    t.item.content = [part];
    t.item.status = "completed";
    out.push(
      t.part === "refusal"
        ? this.event("response.refusal.done", { ...at, refusal: t.value })
        : this.event("response.output_text.done", { ...at, text: t.value, logprobs: [] }),
      this.event("response.content_part.done", { ...at, part }),
      this.event("response.output_item.done", { output_index: t.index, item: t.item }),
    );
  }

  /** The closing events: open items done, then `response.completed` (or `.incomplete`) with the whole response. */
  end(usage: Usage | undefined, extra: Record<string, unknown>): { events: ResponseEvent[]; response: ResponseObject } {
    const out = this.start();
    this.closeReasoning(out);
    this.closeText(out);
    for (const { item, index } of this.calls.values()) {
      item.status = "completed";
      out.push(
        this.event("response.function_call_arguments.done", {
          item_id: item.id,
          output_index: index,
          name: item.name,
          arguments: item.arguments,
        }),
        this.event("response.output_item.done", { output_index: index, item }),
      );
    }
    this.calls.clear();
    const response = settle(this.response, this.finish, usage);
    const type = response.status === "incomplete" ? "response.incomplete" : "response.completed";
    out.push(this.event(type, { response, ...(Object.keys(extra).length ? { tollgate: extra } : {}) }));
    return { events: out, response };
  }

  /** A failure after the stream started: an `error` event, then `response.failed`. */
  fail(code: string, message: string, param: string | null): ResponseEvent[] {
    const out = this.start();
    this.response.status = "failed";
    this.response.error = { code, message };
    out.push(this.event("error", { code, message, param }), this.event("response.failed", { response: this.response }));
    return out;
  }
}
