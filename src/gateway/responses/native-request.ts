/**
 * /v1/responses served by OpenAI's own Responses API: the client's request
 * goes upstream as it was written — built-in tools, reasoning items,
 * `include`, whatever comes next — with only these changes:
 *  - what the input policy changed, written back (formats/write-back.ts); the
 *    policy scans a view with one slot per text, tool-call arguments and tool
 *    output of this turn (instructions included), after the earlier turns;
 *  - the conversation of `previous_response_id` replayed from Tollgate's own
 *    store as input items, and `store: false`: OpenAI keeps nothing, so a
 *    stored response, its deletion and its expiry are Tollgate's alone;
 *  - reasoning models are asked for `reasoning.encrypted_content`, so their
 *    reasoning can be replayed on the next turn;
 *  - with a built-in tool billed per call (web search, file search) and no
 *    `max_tool_calls`, a cap of DEFAULT_SERVER_TOOL_CALLS, so the credit hold
 *    is a true upper bound.
 * Targets of another API get the chat translation of the same request; it
 * lacks built-in tools and items without a chat equivalent, so a request
 * holding them is served by the native targets only (`lossy`).
 */
import { invalidRequest } from "../errors.js";
import { type Slot, writeBack } from "../formats/write-back.js";
import type { InputBound } from "../hooks.js";
import { DEFAULT_SERVER_TOOL_CALLS, inputBound } from "../tokens.js";
import type { ChatMessage, ChatRequest, ContentPart, TextPart } from "../types.js";
import { toChatRequest } from "./request.js";
import { ANTHROPIC_REASONING } from "./response.js";
import type { ResponsesRequest } from "./wire.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);
const bytes = (v: unknown) => Buffer.byteLength(typeof v === "string" ? v : JSON.stringify(v), "utf8");

/** Built-in tools billed apart from the response's usage, which the gateway cannot meter: refused. */
const UNMETERED_TOOLS: Record<string, string> = {
  code_interpreter: "code_interpreter bills each container session apart from the response's usage",
  image_generation: "image_generation bills its images apart from the response's usage",
};

/** Tools whose results enter the model's input (search results, files, screenshots, remote tool output). */
const addsContext = (type: string) =>
  type.startsWith("web_search") || type === "file_search" || type.startsWith("computer_use") || type === "mcp";
/** Tools billed per call by the price library (web searches, file searches). */
const billedPerCall = (type: string) => type.startsWith("web_search") || type === "file_search";

/** A reasoning model (OpenAI's o-series, GPT-5 and Codex): its reasoning can be replayed only encrypted. */
export const reasoningModel = (model: string) => /^(o\d|gpt-5|codex)/.test(model.replace(/^openai\//, ""));

/** Input items the chat translation carries; others (and reasoning, which it drops) make it lossy. */
const TRANSLATED_ITEMS = new Set(["message", "function_call", "function_call_output"]);

export interface ResponsesNativeView {
  /** What the input policy scans: instructions, the earlier turns, this turn's input. */
  view: ChatRequest;
  slots: Slot[];
  input: InputBound;
  /** The chat translation lacks something (built-in tools, items, file ids): native targets only. */
  lossy: boolean;
}

/** Checks the tools a native call may take: the unmetered ones are refused with a 400 naming them. */
export function checkNativeTools(body: ResponsesRequest): void {
  for (const [i, t] of (body.tools ?? []).entries()) {
    const why = UNMETERED_TOOLS[String((t as { type?: unknown })?.type)];
    if (why)
      throw invalidRequest(
        "unsupported_tool",
        `tools[${i}]: ${why}, which this gateway cannot meter; remove it.`,
        `tools[${i}].type`,
      );
  }
}

/**
 * The scan view of a Responses request for the native path. `previous`: the earlier turns as chat messages
 * (scanned with the rest, never written back); `replayed`: the same turns as the input items sent upstream.
 */
export function responsesView(
  body: ResponsesRequest,
  previous: readonly ChatMessage[],
  replayed: readonly unknown[],
): ResponsesNativeView {
  const messages: ChatMessage[] = [];
  const slots: Slot[] = [];
  let extra = 0;
  let unbounded = false;
  let lossy = false;
  if (typeof body.instructions === "string" && body.instructions) {
    slots.push({ message: 0, part: -1, path: ["instructions"] });
    messages.push({ role: "system", content: body.instructions });
  }
  messages.push(...previous);
  const turnStart = messages.length;
  // What the replayed items hold beyond their chat translation (encrypted reasoning) is input too.
  for (const item of replayed) if (isObject(item) && item.type === "reasoning") extra += bytes(item);

  const textParts = (parts: unknown[], path: (j: number) => Array<string | number>): TextPart[] => {
    const out: TextPart[] = [];
    parts.forEach((p, j) => {
      if (isObject(p) && (p.type === "input_text" || p.type === "output_text") && typeof p.text === "string") {
        slots.push({ message: messages.length, part: out.length, path: [...path(j), "text"] });
        out.push({ type: "text", text: p.text });
      }
    });
    return out;
  };

  if (typeof body.input === "string") {
    slots.push({ message: messages.length, part: -1, path: ["input"] });
    messages.push({ role: "user", content: body.input });
  }
  const items = Array.isArray(body.input) ? (body.input as unknown[]) : [];
  items.forEach((item, i) => {
    if (!isObject(item)) return;
    const type = item.type ?? ("role" in item ? "message" : undefined);
    if (!TRANSLATED_ITEMS.has(String(type))) {
      lossy ||= type !== "reasoning";
      extra += bytes(item);
      return;
    }
    if (type === "function_call") {
      const call = {
        id: String(item.call_id ?? ""),
        type: "function" as const,
        function: { name: String(item.name ?? ""), arguments: String(item.arguments ?? "") },
      };
      const last = messages[messages.length - 1];
      if (last?.role === "assistant" && messages.length > turnStart) {
        slots.push({
          message: messages.length - 1,
          part: last.tool_calls?.length ?? 0,
          args: true,
          path: [i, "arguments"],
        });
        last.tool_calls = [...(last.tool_calls ?? []), call];
      } else {
        slots.push({ message: messages.length, part: 0, args: true, path: [i, "arguments"] });
        messages.push({ role: "assistant", content: null, tool_calls: [call] });
      }
      return;
    }
    if (type === "function_call_output") {
      const callId = String(item.call_id ?? "");
      if (typeof item.output === "string") {
        slots.push({ message: messages.length, part: -1, path: [i, "output"] });
        messages.push({ role: "tool", tool_call_id: callId, content: item.output });
      } else if (Array.isArray(item.output)) {
        const parts = textParts(item.output, (j) => [i, "output", j]);
        messages.push({ role: "tool", tool_call_id: callId, content: parts });
      }
      return;
    }
    const role = item.role === "assistant" ? "assistant" : item.role === "user" ? "user" : "system";
    if (typeof item.content === "string") {
      slots.push({ message: messages.length, part: -1, path: [i, "content"] });
      messages.push({ role, content: item.content } as ChatMessage);
      return;
    }
    if (!Array.isArray(item.content)) return;
    const parts: ContentPart[] = textParts(item.content, (j) => [i, "content", j]);
    for (const p of item.content) {
      if (!isObject(p)) continue;
      if (p.type === "input_image") {
        if (typeof p.image_url === "string") parts.push({ type: "image_url", image_url: { url: p.image_url } });
        else {
          lossy = true;
          unbounded = true; // an image by file id: its size is unknown here
        }
      } else if (p.type === "input_file") {
        lossy ||= typeof p.file_data !== "string";
        unbounded = true; // a file's tokens are not bounded by its bytes
      }
    }
    messages.push({ role, content: parts } as ChatMessage);
  });

  for (const t of body.tools ?? []) {
    const type = String((t as { type?: unknown })?.type);
    if (type === "function") continue;
    lossy = true;
    if (addsContext(type)) unbounded = true;
  }
  const view: ChatRequest = { model: body.model ?? "", messages };
  const bound = inputBound(view);
  const calls = serverToolCalls(body);
  return {
    view,
    slots,
    lossy,
    input: {
      tokens: bound.tokens + extra + bytes(body.tools ?? []) + bytes(body.text ?? {}),
      images: bound.images,
      ...(unbounded || bound.unbounded ? { unbounded: true } : {}),
      ...(calls ? { serverToolCalls: calls } : {}),
    },
  };
}

/** The built-in tool calls billed per call a response may make: the cap sent upstream (0: no such tool). */
function serverToolCalls(body: ResponsesRequest): number {
  const perCall = (body.tools ?? []).some((t) => billedPerCall(String((t as { type?: unknown })?.type)));
  if (!perCall) return 0;
  return typeof body.max_tool_calls === "number" ? body.max_tool_calls : DEFAULT_SERVER_TOOL_CALLS;
}

/** The request with the scan applied (`body` itself when nothing changed). */
export function applyScan(body: ResponsesRequest, v: ResponsesNativeView, scanned: ChatRequest): ResponsesRequest {
  const input = v.slots.filter((s) => s.path[0] !== "instructions" && s.path[0] !== "input");
  let out = body;
  const top = v.slots.filter((s) => !input.includes(s));
  if (top.length) out = writeBack(out, v.view, scanned, top);
  if (input.length && Array.isArray(out.input))
    out = { ...out, input: writeBack(out.input as unknown[], v.view, scanned, input) as ResponsesRequest["input"] };
  return out;
}

/** The body sent to OpenAI: the earlier turns replayed in front of this turn's input, stateless upstream. */
export function upstreamBody(sent: ResponsesRequest, replayed: readonly unknown[]): Json {
  const { previous_response_id: _previous, ...rest } = sent;
  const input = typeof sent.input === "string" ? [{ role: "user", content: sent.input }] : (sent.input ?? []);
  const body: Json = { ...rest, input: [...replayed, ...input], store: false };
  if (reasoningModel(sent.model ?? "") || sent.reasoning) {
    const include = Array.isArray(sent.include) ? (sent.include as unknown[]) : [];
    if (!include.includes("reasoning.encrypted_content")) body.include = [...include, "reasoning.encrypted_content"];
  }
  const calls = serverToolCalls(sent);
  if (calls && typeof sent.max_tool_calls !== "number") body.max_tool_calls = calls;
  return body;
}

/**
 * The chat translation of a Responses request for targets of another API: what has no chat equivalent
 * (built-in tools and a tool_choice naming one, other items, parts by file id) is left out — the caller
 * serves a `lossy` request by native targets only.
 */
export function chatOf(body: ResponsesRequest, previous: readonly ChatMessage[]): ChatRequest {
  const tools = (body.tools ?? []).filter((t) => (t as { type?: unknown })?.type === "function");
  const choice = body.tool_choice;
  const input = Array.isArray(body.input)
    ? (body.input as unknown[]).filter((item) => {
        if (!isObject(item)) return true;
        const type = item.type ?? ("role" in item ? "message" : undefined);
        return TRANSLATED_ITEMS.has(String(type)) || type === "reasoning";
      })
    : body.input;
  return toChatRequest(
    {
      ...body,
      input: Array.isArray(input) ? input.map(withoutFileIds) : input,
      tools,
      tool_choice: isObject(choice) && choice.type !== "function" ? undefined : choice,
    } as ResponsesRequest,
    previous,
  );
}

function withoutFileIds(item: unknown): unknown {
  if (!isObject(item) || !Array.isArray(item.content)) return item;
  const content = (item.content as unknown[]).filter(
    (p) =>
      !isObject(p) ||
      (p.type === "input_image"
        ? typeof p.image_url === "string"
        : p.type !== "input_file" || typeof p.file_data === "string"),
  );
  return content.length === item.content.length ? item : { ...item, content };
}

/** A stored turn's input and output items as the next turn's input: what OpenAI takes back statelessly. */
export function replayItems(output: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of output) {
    if (!isObject(item)) continue;
    if (item.type === "reasoning") {
      // Only reasoning OpenAI encrypted can go back (without it, a store:false upstream cannot find the item).
      if (typeof item.encrypted_content === "string" && openaiEncrypted(item.encrypted_content))
        out.push({
          type: "reasoning",
          id: item.id,
          summary: item.summary ?? [],
          encrypted_content: item.encrypted_content,
        });
    } else if (item.type === "message" || item.type === "function_call" || item.type === "function_call_output") {
      const { id: _id, status: _status, ...rest } = item;
      out.push(rest);
    }
    // Built-in tool calls (web and file searches) are not replayed: their results are in the message that follows;
    // other items (computer, MCP) are not replayed either: they answered a call of their own turn.
  }
  return out;
}

/** Encrypted reasoning issued by OpenAI (not an Anthropic signature carried by the chat translation). */
const openaiEncrypted = (s: string) => !s.startsWith(ANTHROPIC_REASONING);

/** This turn's input items as sent (a string input is one user message). */
export function turnItems(sent: ResponsesRequest): unknown[] {
  if (typeof sent.input === "string") return [{ type: "message", role: "user", content: sent.input }];
  return Array.isArray(sent.input) ? (sent.input as unknown[]) : [];
}

/** A stored native turn (its input and output items) as chat messages for a target of another API. */
export function turnMessages(items: readonly unknown[], output: readonly unknown[]): ChatMessage[] {
  const replay = [
    ...items,
    ...output.filter((o) => isObject(o) && (o.type === "message" || o.type === "function_call")),
  ];
  return chatOf({ input: replay as ResponsesRequest["input"] }, []).messages;
}
