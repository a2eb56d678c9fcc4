/**
 * A Responses API request, checked and translated to the canonical chat
 * request (types.ts) every provider adapter speaks:
 *  - `instructions` → a leading system message (never carried to the next
 *    turn, as OpenAI does); `input` (a string or items) → messages; the
 *    conversation of `previous_response_id` goes in front;
 *  - message items → messages (input_text, input_image, input_file parts);
 *    consecutive `function_call` items → one assistant message's tool calls;
 *    `function_call_output` → tool messages; a `reasoning` item Tollgate made
 *    from Anthropic's signed thinking (response.ts) → the reasoning of the
 *    assistant turn that follows it; other reasoning items are dropped (a
 *    chat upstream cannot take OpenAI's encrypted reasoning back);
 *  - function tools, `tool_choice`, `text.format` (structured output) →
 *    their chat equivalents; `max_output_tokens` → `max_completion_tokens`;
 *    `reasoning.effort` → `reasoning_effort`; fields chat also knows
 *    (`prompt_cache_key`, `service_tier`, `safety_identifier`, `user`) pass.
 * What cannot be honoured through chat is refused with a 400 naming the
 * parameter (built-in tools, `background`, stored prompts, conversations,
 * `item_reference`, file ids), never silently dropped.
 */
import { invalidRequest } from "../errors.js";
import { checkParams } from "../inbound/params.js";
import type {
  AssistantMessage,
  ChatMessage,
  ChatRequest,
  ContentPart,
  FunctionTool,
  ResponseFormat,
  TextPart,
  ToolChoice,
} from "../types.js";
import { responsesSchema } from "./schema.js";
import { signedReasoning } from "./response.js";
import type { FunctionToolDef, InputContent, InputItem, ReasoningItem, ResponsesRequest, TextFormat } from "./wire.js";

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const optional = (v: unknown) => v === undefined || v === null;

/** Fields a chat upstream also knows: passed through as sent. */
const PASSED = ["prompt_cache_key", "service_tier", "safety_identifier", "user", "seed"] as const;
/** Responses-only features that a chat translation cannot honour. */
const REFUSED = {
  background: "Background responses",
  conversation: "Conversations",
  prompt: "Stored prompts",
} as const;

export function checkResponsesRequest(body: unknown): ResponsesRequest {
  if (!isObject(body)) throw invalidRequest("invalid_body", "The body must be a JSON object.");
  // The official parameter types (schema.ts); the body itself goes on.
  checkParams(responsesSchema, body);
  const b = body as ResponsesRequest;
  for (const [k, what] of Object.entries(REFUSED))
    if (!optional(b[k]) && b[k] !== false)
      throw invalidRequest(`unsupported_${k}`, `${what} are not supported by this gateway.`, k);
  return b;
}

/** The canonical chat request for a checked Responses request, after `previous` (the stored conversation). */
export function toChatRequest(b: ResponsesRequest, previous: readonly ChatMessage[]): ChatRequest {
  const messages: ChatMessage[] = [];
  if (typeof b.instructions === "string" && b.instructions) messages.push({ role: "system", content: b.instructions });
  messages.push(...previous);
  if (typeof b.input === "string") messages.push({ role: "user", content: b.input });
  else inputMessages(b.input as InputItem[], messages);
  const req: ChatRequest = { model: b.model ?? "", messages };
  if (b.stream) {
    req.stream = true;
    req.stream_options = { include_usage: true };
  }
  if (b.tools?.length) req.tools = toolsOf(b.tools);
  if (b.tool_choice !== undefined && b.tool_choice !== null) req.tool_choice = toolChoiceOf(b.tool_choice);
  if (typeof b.parallel_tool_calls === "boolean" && b.tools?.length) req.parallel_tool_calls = b.parallel_tool_calls;
  const format = b.text?.format;
  if (format) req.response_format = responseFormatOf(format);
  if (typeof b.max_output_tokens === "number") req.max_completion_tokens = b.max_output_tokens;
  if (typeof b.temperature === "number") req.temperature = b.temperature;
  if (typeof b.top_p === "number") req.top_p = b.top_p;
  const extra = req as unknown as Record<string, unknown>;
  for (const k of PASSED) if (b[k] !== undefined && b[k] !== null) extra[k] = b[k];
  if (b.reasoning?.effort) extra.reasoning_effort = b.reasoning.effort;
  if (b.text?.verbosity) extra.verbosity = b.text.verbosity;
  return req;
}

function inputMessages(items: InputItem[], out: ChatMessage[]): void {
  for (const [i, item] of items.entries()) {
    const at = `input[${i}]`;
    if (!isObject(item)) throw invalidRequest("invalid_input", `${at} must be an object.`, at);
    const type = (item as { type?: unknown }).type;
    if (type === "message" || (type === undefined && "role" in item)) {
      out.push(messageOf(item as Extract<InputItem, { role: string }>, at));
    } else if (type === "function_call") {
      const c = item as Extract<InputItem, { type: "function_call" }>;
      if (typeof c.call_id !== "string" || typeof c.name !== "string" || typeof c.arguments !== "string")
        throw invalidRequest("invalid_input", `${at} needs string call_id, name and arguments.`, at);
      const call = { id: c.call_id, type: "function" as const, function: { name: c.name, arguments: c.arguments } };
      // Consecutive calls (and calls right after the assistant's text) are one assistant turn.
      const last = out[out.length - 1];
      if (last?.role === "assistant") last.tool_calls = [...(last.tool_calls ?? []), call];
      else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      const o = item as Extract<InputItem, { type: "function_call_output" }>;
      if (typeof o.call_id !== "string")
        throw invalidRequest("invalid_input", `${at}.call_id must be a string.`, `${at}.call_id`);
      const content =
        typeof o.output === "string" ? o.output : Array.isArray(o.output) ? textParts(o.output, `${at}.output`) : null;
      if (content === null)
        throw invalidRequest("invalid_input", `${at}.output must be a string or content parts.`, `${at}.output`);
      out.push({ role: "tool", tool_call_id: o.call_id, content });
    } else if (type === "reasoning") {
      // Ours: an assistant turn of its own, which the calls after it join and foldReasoning merges
      // into the assistant message after it. OpenAI's: dropped (only OpenAI can read it).
      const signed = signedReasoning(item as ReasoningItem);
      if (signed) out.push({ role: "assistant", content: null, ...signed });
    } else if (type === "item_reference") {
      throw invalidRequest(
        "unsupported_item_reference",
        `${at}: item references are not supported; send the item itself or use previous_response_id.`,
        at,
      );
    } else {
      throw invalidRequest(
        "unsupported_input_item",
        `${at}: items of type ${String(type)} are not supported.`,
        `${at}.type`,
      );
    }
  }
  foldReasoning(out);
}

/** A reasoning-only assistant turn joins the assistant message right after it; with none there, it is dropped. */
function foldReasoning(messages: ChatMessage[]): void {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== "assistant" || !m.reasoning_signature || m.content != null || m.tool_calls?.length) continue;
    const next = messages[i + 1];
    if (next?.role === "assistant" && !next.reasoning_signature) {
      next.reasoning_content = m.reasoning_content;
      next.reasoning_signature = m.reasoning_signature;
    }
    messages.splice(i, 1);
  }
}

function messageOf(m: Extract<InputItem, { role: string }>, at: string): ChatMessage {
  const content = m.content;
  if (typeof content !== "string" && !Array.isArray(content))
    throw invalidRequest("invalid_input", `${at}.content must be a string or an array of parts.`, `${at}.content`);
  switch (m.role) {
    case "assistant": {
      const msg: AssistantMessage = { role: "assistant", content: "" };
      if (typeof content === "string") msg.content = content;
      else
        for (const [j, p] of content.entries()) {
          if (p?.type === "output_text" || p?.type === "input_text")
            msg.content += String((p as { text: unknown }).text ?? "");
          else if (p?.type === "refusal") msg.refusal = String(p.refusal ?? "");
          else
            throw invalidRequest(
              "invalid_input",
              `${at}.content[${j}]: an assistant message holds output_text or refusal parts.`,
              `${at}.content[${j}].type`,
            );
        }
      return msg;
    }
    case "system":
    case "developer":
      return {
        role: m.role,
        content: typeof content === "string" ? content : textParts(content as InputContent[], `${at}.content`),
      };
    case "user":
      return {
        role: "user",
        content: typeof content === "string" ? content : userParts(content as InputContent[], `${at}.content`),
      };
    default:
      throw invalidRequest("invalid_input", `${at}.role must be user, assistant, system or developer.`, `${at}.role`);
  }
}

function textParts(parts: ReadonlyArray<InputContent | { type: string }>, at: string): TextPart[] {
  return parts.map((p, j) => {
    const text = (p as { text?: unknown }).text;
    if ((p?.type !== "input_text" && p?.type !== "output_text") || typeof text !== "string")
      throw invalidRequest("invalid_input", `${at}[${j}] must be an input_text part here.`, `${at}[${j}]`);
    return { type: "text", text };
  });
}

function userParts(parts: InputContent[], at: string): ContentPart[] {
  return parts.map((p, j): ContentPart => {
    const here = `${at}[${j}]`;
    switch (p?.type) {
      case "input_text":
        if (typeof p.text !== "string")
          throw invalidRequest("invalid_input", `${here}.text must be a string.`, `${here}.text`);
        return { type: "text", text: p.text };
      case "input_image":
        if (typeof p.image_url !== "string")
          throw invalidRequest(
            "unsupported_file_id",
            `${here}: send the image as image_url (a URL or a data: URL); file ids are not supported.`,
            `${here}.image_url`,
          );
        return { type: "image_url", image_url: { url: p.image_url, ...(p.detail ? { detail: p.detail } : {}) } };
      case "input_file": {
        if (typeof p.file_data !== "string")
          throw invalidRequest(
            "unsupported_file_id",
            `${here}: send the file as file_data (base64); file ids and URLs are not supported.`,
            `${here}.file_data`,
          );
        return { type: "file", file: { file_data: p.file_data, ...(p.filename ? { filename: p.filename } : {}) } };
      }
      default:
        throw invalidRequest(
          "invalid_input",
          `${here}.type must be input_text, input_image or input_file.`,
          `${here}.type`,
        );
    }
  });
}

function toolsOf(tools: FunctionToolDef[]): FunctionTool[] {
  if (!Array.isArray(tools)) throw invalidRequest("invalid_tools", "`tools` must be an array.", "tools");
  return tools.map((t, i) => {
    if (t?.type !== "function")
      throw invalidRequest(
        "unsupported_tool",
        `tools[${i}]: only function tools are supported (not ${String(t?.type)}); describe it as a function tool, or remove it.`,
        `tools[${i}].type`,
      );
    if (typeof t.name !== "string" || !t.name)
      throw invalidRequest("invalid_tools", `tools[${i}].name must be a non-empty string.`, `tools[${i}].name`);
    return {
      type: "function",
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        ...(t.parameters ? { parameters: t.parameters } : {}),
        ...(typeof t.strict === "boolean" ? { strict: t.strict } : {}),
      },
    };
  });
}

function toolChoiceOf(c: NonNullable<ResponsesRequest["tool_choice"]>): ToolChoice {
  if (c === "none" || c === "auto" || c === "required") return c;
  if (isObject(c) && c.type === "function" && typeof c.name === "string")
    return { type: "function", function: { name: c.name } };
  throw invalidRequest(
    "invalid_tool_choice",
    '`tool_choice` must be none, auto, required or {type: "function", name}.',
    "tool_choice",
  );
}

function responseFormatOf(f: TextFormat): ResponseFormat {
  if (f.type === "text" || f.type === "json_object") return { type: f.type };
  if (f.type === "json_schema" && typeof f.name === "string" && isObject(f.schema))
    return {
      type: "json_schema",
      json_schema: {
        name: f.name,
        schema: f.schema,
        ...(f.description ? { description: f.description } : {}),
        ...(typeof f.strict === "boolean" ? { strict: f.strict } : {}),
      },
    };
  throw invalidRequest(
    "invalid_text",
    "`text.format` must be text, json_object or json_schema with a name and a schema.",
    "text.format",
  );
}
