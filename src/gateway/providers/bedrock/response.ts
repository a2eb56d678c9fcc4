/**
 * A Converse answer → canonical chat completion: text blocks joined, toolUse
 * blocks as tool_calls (input re-serialized as the arguments string),
 * reasoningContent as `reasoning_content` (and its signature), stopReason as
 * finish_reason. Converse answers carry no id: the `x-amzn-requestid` header
 * names the completion when present.
 */
import type { ChatResponse, FinishReason, ToolCall } from "../../types.js";
import { usageToOpenAI } from "../../types.js";
import { newId } from "../http/index.js";
import { UpstreamError } from "../types.js";
import { usageFromBedrock, type ConverseUsage } from "./usage.js";

export interface ConverseResponse {
  output?: { message?: { role?: string; content?: Array<Record<string, unknown>> } };
  stopReason?: string;
  usage?: ConverseUsage;
}

export function finishFromBedrock(reason: string | undefined): FinishReason {
  switch (reason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "content_filtered":
    case "guardrail_intervened":
      return "content_filter";
    default:
      return "stop"; // end_turn, stop_sequence, and any reason Bedrock adds later
  }
}

/** The chat completion id of an answer: Bedrock's request id, or one we mint. */
export function completionId(headers: Record<string, string | string[] | undefined>): string {
  const rid = headers["x-amzn-requestid"];
  const id = Array.isArray(rid) ? rid[0] : rid;
  return id && /^[A-Za-z0-9-]{1,100}$/.test(id) ? `chatcmpl-${id}` : newId("chatcmpl-");
}

export function fromConverseResponse(r: ConverseResponse, id: string, model: string, label: string): ChatResponse {
  const content = r?.output?.message?.content;
  if (!Array.isArray(content)) throw new UpstreamError("protocol", `${label} response has no output message`);
  let text = "";
  let reasoning = "";
  let signature = "";
  const toolCalls: ToolCall[] = [];
  for (const b of content) {
    if (typeof b?.text === "string") text += b.text;
    const tu = b?.toolUse as { toolUseId?: unknown; name?: unknown; input?: unknown } | undefined;
    if (tu && typeof tu.name === "string")
      toolCalls.push({
        id: typeof tu.toolUseId === "string" ? tu.toolUseId : newId("call_"),
        type: "function",
        function: { name: tu.name, arguments: JSON.stringify(tu.input ?? {}) },
      });
    const rt = (b?.reasoningContent as { reasoningText?: { text?: unknown; signature?: unknown } } | undefined)
      ?.reasoningText;
    if (rt && typeof rt.text === "string" && !reasoning) {
      reasoning = rt.text;
      if (typeof rt.signature === "string") signature = rt.signature;
    }
  }
  const usage = usageFromBedrock(r.usage);
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text || (toolCalls.length ? null : ""),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          refusal: null,
          ...(reasoning ? { reasoning_content: reasoning } : {}),
          ...(signature ? { reasoning_signature: signature } : {}),
        },
        finish_reason: finishFromBedrock(r.stopReason),
        logprobs: null,
      },
    ],
    ...(usage ? { usage: usageToOpenAI(usage) } : {}),
  };
}
