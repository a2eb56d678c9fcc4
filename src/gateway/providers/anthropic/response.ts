/**
 * A non-streamed Anthropic Messages answer → canonical chat completion (the
 * JSON-mode tool's input becomes the message text; the first thinking block
 * becomes `reasoning_content` and its signature `reasoning_signature`, a pair
 * Anthropic accepts back — later thinking blocks, interleaved between tool
 * calls, are left out as the stream leaves them out).
 */
import { finishFromAnthropic, type AnthropicResponse } from "../../formats/anthropic-wire.js";
import type { ChatResponse, ToolCall } from "../../types.js";
import { usageToOpenAI } from "../../types.js";
import { JSON_TOOL } from "./request.js";
import { usageFromAnthropic } from "./usage.js";

export function fromAnthropicResponse(r: AnthropicResponse, jsonTool: boolean): ChatResponse {
  let text = "";
  let reasoning: { thinking: string; signature?: string } | undefined;
  const toolCalls: ToolCall[] = [];
  let finish = finishFromAnthropic(r.stop_reason);
  for (const b of r.content ?? []) {
    if (b.type === "text") text += (b as { text: string }).text;
    else if (b.type === "thinking" && !reasoning) {
      const t = b as { thinking?: unknown; signature?: unknown };
      if (typeof t.thinking === "string" && t.thinking)
        reasoning = { thinking: t.thinking, ...(typeof t.signature === "string" ? { signature: t.signature } : {}) };
    } else if (b.type === "tool_use") {
      const t = b as { id: string; name: string; input: unknown };
      if (jsonTool && t.name === JSON_TOOL) {
        text += JSON.stringify(t.input ?? {});
        if (finish === "tool_calls") finish = "stop";
      } else
        toolCalls.push({
          id: t.id,
          type: "function",
          function: { name: t.name, arguments: JSON.stringify(t.input ?? {}) },
        });
    }
  }
  return {
    id: r.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: r.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text || (toolCalls.length ? null : ""),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          refusal: null,
          ...(reasoning ? { reasoning_content: reasoning.thinking } : {}),
          ...(reasoning?.signature ? { reasoning_signature: reasoning.signature } : {}),
        },
        finish_reason: finish,
        logprobs: null,
      },
    ],
    usage: usageToOpenAI(usageFromAnthropic(r.usage)),
  };
}
