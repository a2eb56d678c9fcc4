/**
 * Canonical (OpenAI-shaped) chat request → Anthropic Messages request:
 * - System/developer messages become the top-level `system`; tool results
 *   become `tool_result` blocks in a user turn; consecutive same-role turns
 *   are merged (the API requires alternation); max_tokens is always sent.
 * - JSON mode (json_object / json_schema) without user tools is a forced tool
 *   whose input is returned as the message text — Anthropic's own recipe for
 *   structured output; the caller never sees that tool.
 */
import { invalidRequest } from "../../errors.js";
import type { ChatRequest } from "../../types.js";
import { contentText } from "../../types.js";
import {
  parseDataUrl,
  pdfData,
  type ABlock,
  type AMessage,
  type AnthropicRequest,
  type AToolChoice,
} from "../../formats/anthropic-wire.js";

/** The forced tool that carries JSON-mode answers. */
export const JSON_TOOL = "json_response";

/** max_tokens sent when a request sets none (the Messages API requires one): also the output bound of such a request. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export function toAnthropicRequest(
  req: ChatRequest,
  model: string,
  defaultMaxTokens = ANTHROPIC_DEFAULT_MAX_TOKENS,
): { body: AnthropicRequest; jsonTool: boolean } {
  if (req.n != null && req.n > 1)
    throw invalidRequest("unsupported_parameter", "n > 1 is not supported by this provider.", "n");
  const system: string[] = [];
  const messages: AMessage[] = [];
  const push = (role: "user" | "assistant", blocks: ABlock[]) => {
    if (!blocks.length) return;
    const prev = messages[messages.length - 1];
    if (prev && prev.role === role) (prev.content as ABlock[]).push(...blocks);
    else messages.push({ role, content: blocks });
  };
  req.messages.forEach((m, i) => {
    switch (m.role) {
      case "system":
      case "developer":
        system.push(contentText(m.content));
        break;
      case "user": {
        if (typeof m.content === "string") {
          push("user", [{ type: "text", text: m.content }]);
          return;
        }
        const blocks: ABlock[] = [];
        for (const p of m.content) {
          if (p.type === "text") blocks.push({ type: "text", text: p.text });
          else if (p.type === "image_url") {
            const d = parseDataUrl(p.image_url.url);
            blocks.push(
              d
                ? { type: "image", source: { type: "base64", media_type: d.mediaType, data: d.data } }
                : { type: "image", source: { type: "url", url: p.image_url.url } },
            );
          } else if (p.type === "file" && pdfData(p)) {
            blocks.push({
              type: "document",
              source: { type: "base64", media_type: "application/pdf", data: pdfData(p)! },
            });
          } else
            throw invalidRequest(
              "unsupported_content",
              `Content part type "${p.type}" is not supported by this provider.`,
              `messages[${i}].content`,
            );
        }
        push("user", blocks);
        break;
      }
      case "assistant": {
        const blocks: ABlock[] = [];
        const text = contentText(m.content);
        if (text) blocks.push({ type: "text", text });
        for (const tc of m.tool_calls ?? []) {
          let input: unknown;
          try {
            input = tc.function.arguments ? JSON.parse(tc.function.arguments) : {};
          } catch {
            throw invalidRequest(
              "invalid_tool_arguments",
              "Tool call arguments must be valid JSON.",
              `messages[${i}].tool_calls`,
            );
          }
          blocks.push({ type: "tool_use", id: tc.id, name: tc.function.name, input });
        }
        push("assistant", blocks);
        break;
      }
      case "tool":
        push("user", [{ type: "tool_result", tool_use_id: m.tool_call_id, content: contentText(m.content) }]);
        break;
    }
  });

  const body: AnthropicRequest = {
    model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens,
    messages,
  };
  const stop = typeof req.stop === "string" ? [req.stop] : (req.stop ?? []);
  if (stop.length) body.stop_sequences = stop;
  if (req.temperature != null) body.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.top_p != null) body.top_p = req.top_p;
  if (req.user) body.metadata = { user_id: req.user };
  if (req.stream) body.stream = true;

  const noParallel = req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      input_schema: t.function.parameters ?? { type: "object", properties: {} },
    }));
    const tc = req.tool_choice;
    let choice: AToolChoice | undefined;
    if (tc === "none") choice = { type: "none" };
    else if (tc === "required") choice = { type: "any", ...noParallel };
    else if (tc && typeof tc === "object") choice = { type: "tool", name: tc.function.name, ...noParallel };
    else if (tc === "auto" || req.parallel_tool_calls === false) choice = { type: "auto", ...noParallel };
    if (choice) body.tool_choice = choice;
  }

  let jsonTool = false;
  const rf = req.response_format;
  if (rf && rf.type !== "text") {
    const schema = rf.type === "json_schema" ? rf.json_schema.schema : undefined;
    if (!req.tools?.length && (!schema || schema.type === "object")) {
      jsonTool = true;
      body.tools = [
        {
          name: JSON_TOOL,
          description: "Return the answer as this JSON object.",
          input_schema: schema ?? { type: "object" },
        },
      ];
      body.tool_choice = { type: "tool", name: JSON_TOOL };
    } else {
      system.push(`Respond with JSON only${schema ? ` matching this JSON schema: ${JSON.stringify(schema)}` : ""}.`);
    }
  }
  const sys = system.filter(Boolean).join("\n\n");
  if (sys) body.system = sys;
  return { body, jsonTool };
}
