/**
 * Chat answers rendered as Responses API objects: a whole response, or a
 * stream of its typed events (`response.created` … `response.completed`),
 * each with its `sequence_number`. Choice 0 is the answer (the Responses API
 * has one output); its text becomes a `message` item, each tool call a
 * `function_call` item, in the order they came.
 */
import type { ChatChunk, ChatResponse, Usage } from "../types.js";
import { usageToOpenAI } from "../types.js";
import type { OutputFunctionCall, OutputItem, OutputMessage, ResponseObject, ResponsesRequest } from "./wire.js";
import { responsesUsage } from "./wire.js";
import type { AssistantMessage, FinishReason } from "../types.js";

/** The response as it starts: what was asked, no output yet. */
export function responseShell(b: ResponsesRequest, id: string, model: string, createdAt: number): ResponseObject {
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
    if (item.type === "message") {
      for (const part of item.content)
        if (part.type === "output_text") msg.content += part.text;
        else msg.refusal = part.refusal;
    } else {
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

/** Item ids of one response: `msg_<response>_<n>`, `fc_<response>_<n>`. */
export class ItemIds {
  private n = 0;
  constructor(private readonly base: string) {}
  next(prefix: "msg" | "fc"): string {
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
      if (typeof d.refusal === "string" && d.refusal) this.textDelta(out, "refusal", d.refusal);
      if (typeof d.content === "string" && d.content) this.textDelta(out, "output_text", d.content);
      for (const t of d.tool_calls ?? []) {
        let open = this.calls.get(t.index);
        if (!open) {
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

  private textDelta(out: ResponseEvent[], part: "output_text" | "refusal", delta: string): void {
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
