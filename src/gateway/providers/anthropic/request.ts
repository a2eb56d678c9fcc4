/**
 * Canonical (OpenAI-shaped) chat request → Anthropic Messages request:
 * - System/developer messages become the top-level `system`; tool results
 *   become `tool_result` blocks in a user turn; consecutive same-role turns
 *   are merged (the API requires alternation); max_tokens is always sent.
 * - JSON mode (json_object / json_schema) without user tools is a forced tool
 *   whose input is returned as the message text — Anthropic's own recipe for
 *   structured output; the caller never sees that tool.
 * - `reasoning_effort` turns thinking on (thinkingFor): a budget below
 *   max_tokens (never raised: the credit hold is computed from it), or
 *   adaptive thinking on models that have it; temperature is then left out.
 *   A signed `reasoning_content` goes back as the turn's leading thinking block.
 */
import { invalidRequest } from "../../errors.js";
import type { AssistantMessage, ChatMessage, ChatRequest } from "../../types.js";
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

/** Thinking budgets per reasoning effort (manual extended thinking). */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  low: 1024,
  medium: 4096,
  high: 16384,
  xhigh: 16384,
};
/** The smallest budget Anthropic accepts. */
const MIN_THINKING_BUDGET = 1024;
/** Output tokens always left to the answer: the budget is at most max_tokens minus these. */
const ANSWER_RESERVE = 1024;

/** The Messages request with the thinking fields this translation sets. */
export type AnthropicThinkingRequest = AnthropicRequest & {
  thinking?: { type: "enabled"; budget_tokens: number } | { type: "adaptive" };
  output_config?: { effort: "low" | "medium" | "high" };
};

/** Claude 4.6 and later think adaptively (4.7 and later refuse a manual budget); older ids, or unknown ones, take a budget. */
export function thinksAdaptively(model: string): boolean {
  const m = /claude-(?:[a-z]+-)?(\d{1,2})(?:-(\d{1,2}))?(?:[-.@:]|$)/.exec(model);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  return major > 4 || (major === 4 && minor >= 6);
}

/** JSON mode without user tools and with an object schema (or none) is answered through the forced JSON tool. */
function usesJsonTool(req: ChatRequest): boolean {
  const rf = req.response_format;
  if (!rf || rf.type === "text" || req.tools?.length) return false;
  const schema = rf.type === "json_schema" ? rf.json_schema.schema : undefined;
  return !schema || schema.type === "object";
}

/**
 * The first assistant message of an unfinished tool loop (the messages end with tool results): the
 * one Anthropic wants to open with the turn's thinking (later steps of the loop think, or not, under it).
 */
function openToolTurn(messages: readonly ChatMessage[]): AssistantMessage | undefined {
  if (messages[messages.length - 1]?.role !== "tool") return undefined;
  let i = messages.length - 1;
  while (i >= 0 && (messages[i]!.role === "tool" || messages[i]!.role === "assistant")) i--;
  const first = messages[i + 1];
  return first?.role === "assistant" ? first : undefined;
}

/**
 * The thinking configuration for a request, or undefined for none: none for efforts other than
 * low/medium/high (minimal, none), with a forced tool (Anthropic refuses both together), in a tool
 * loop whose turn started without a signed thinking block (one configuration per turn), or when
 * max_tokens leaves less than the minimum budget after the answer's reserve.
 */
export function thinkingFor(
  req: ChatRequest,
  model: string,
  maxTokens: number,
  forcedTool: boolean,
): Pick<AnthropicThinkingRequest, "thinking" | "output_config"> | undefined {
  const effort = req.reasoning_effort === "xhigh" ? "high" : req.reasoning_effort;
  if (effort !== "low" && effort !== "medium" && effort !== "high") return undefined;
  if (forcedTool) return undefined;
  const loop = openToolTurn(req.messages);
  if (loop && !(loop.reasoning_signature && loop.reasoning_content)) return undefined;
  if (thinksAdaptively(model)) return { thinking: { type: "adaptive" }, output_config: { effort } };
  const budget = Math.min(THINKING_BUDGETS[effort]!, maxTokens - ANSWER_RESERVE);
  return budget < MIN_THINKING_BUDGET ? undefined : { thinking: { type: "enabled", budget_tokens: budget } };
}

export function toAnthropicRequest(
  req: ChatRequest,
  model: string,
  defaultMaxTokens = ANTHROPIC_DEFAULT_MAX_TOKENS,
): { body: AnthropicThinkingRequest; jsonTool: boolean } {
  if (req.n != null && req.n > 1)
    throw invalidRequest("unsupported_parameter", "n > 1 is not supported by this provider.", "n");
  const system: string[] = [];
  const messages: AMessage[] = [];
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens;
  const forcedTool =
    (!!req.tools?.length && (req.tool_choice === "required" || typeof req.tool_choice === "object")) ||
    usesJsonTool(req);
  const thinking = thinkingFor(req, model, maxTokens, forcedTool);
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
        if (thinking && m.reasoning_content && m.reasoning_signature)
          blocks.push({ type: "thinking", thinking: m.reasoning_content, signature: m.reasoning_signature });
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

  const body: AnthropicThinkingRequest = { model, max_tokens: maxTokens, messages, ...thinking };
  const stop = typeof req.stop === "string" ? [req.stop] : (req.stop ?? []);
  if (stop.length) body.stop_sequences = stop;
  // With thinking on, Anthropic takes no temperature and a top_p of 0.95 to 1 only.
  if (req.temperature != null && !thinking) body.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.top_p != null && (!thinking || req.top_p >= 0.95)) body.top_p = req.top_p;
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

  const jsonTool = usesJsonTool(req);
  const rf = req.response_format;
  if (rf && rf.type !== "text") {
    const schema = rf.type === "json_schema" ? rf.json_schema.schema : undefined;
    if (jsonTool) {
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
