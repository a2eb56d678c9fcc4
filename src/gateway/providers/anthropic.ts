/**
 * Anthropic Messages API adapter (canonical ⇄ Messages). Invariants:
 * - System/developer messages become the top-level `system`; tool results
 *   become `tool_result` blocks in a user turn; consecutive same-role turns
 *   are merged (the API requires alternation); max_tokens is always sent.
 * - JSON mode (json_object / json_schema) without user tools is a forced tool
 *   whose input is returned as the message text — Anthropic's own recipe for
 *   structured output; the caller never sees that tool.
 * - Usage: inputTokens = input_tokens + cache reads + cache writes (Anthropic
 *   reports them apart; canonical input includes the cached part); output
 *   includes thinking; server-side web searches are counted.
 * - A stream must end with message_stop; an `error` event or a close before it
 *   is an UpstreamError from the iterator.
 */
import { invalidRequest } from "../errors.js";
import type { ChatChunk, ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from "../types.js";
import { contentText, usageToOpenAI } from "../types.js";
import {
  finishFromAnthropic,
  parseDataUrl,
  type ABlock,
  type AMessage,
  type AnthropicRequest,
  type AnthropicResponse,
  type AToolChoice,
  type AUsage,
} from "../formats/anthropic-wire.js";
import { joinUrl, parseEventJson, postJson, safeExtraHeaders, scrubSecret, sseEvents } from "./http.js";
import { UpstreamError, type ChatResult, type ProviderAdapter, type UpstreamTarget } from "./types.js";

export const ANTHROPIC_VERSION = "2023-06-01";
const JSON_TOOL = "json_response";

export interface AnthropicAdapterOptions {
  label?: string;
  /** max_tokens when the request sets none (the API requires one). */
  defaultMaxTokens?: number;
}

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
        if (typeof m.content === "string") return push("user", [{ type: "text", text: m.content }]);
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

/** The usage object as the API sends it, with the nested breakdowns the shared wire type leaves out. */
export type AnthropicUsage = Partial<AUsage> & {
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
  server_tool_use?: { web_search_requests?: number | null } | null;
};

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

export function usageFromAnthropic(u: AnthropicUsage | undefined): Usage {
  const read = count(u?.cache_read_input_tokens);
  const split = u?.cache_creation;
  const write1h = count(split?.ephemeral_1h_input_tokens);
  // The flat total wins; a report with only the breakdown still bills its writes.
  const write = count(u?.cache_creation_input_tokens) || count(split?.ephemeral_5m_input_tokens) + write1h;
  const usage: Usage = {
    inputTokens: count(u?.input_tokens) + read + write,
    cachedInputTokens: read,
    outputTokens: count(u?.output_tokens),
  };
  if (write) usage.cacheWriteInputTokens = write;
  if (write1h) usage.cacheWrite1hInputTokens = Math.min(write1h, write);
  const searches = count(u?.server_tool_use?.web_search_requests);
  if (searches) usage.webSearches = searches;
  return usage;
}

/**
 * Folds a stream's usage report into the running one. message_delta counts are
 * cumulative (they replace), and a null or absent field means "not reported"
 * (it keeps the message_start value); nested breakdowns merge field by field.
 */
export function mergeAnthropicUsage(into: AnthropicUsage, next: unknown, depth = 0): AnthropicUsage {
  if (!next || typeof next !== "object") return into;
  const target = into as Record<string, unknown>;
  for (const [k, v] of Object.entries(next)) {
    if (v == null || k === "__proto__") continue;
    const prev = target[k];
    if (depth === 0 && typeof v === "object" && prev && typeof prev === "object")
      mergeAnthropicUsage(prev as AnthropicUsage, v, 1);
    else target[k] = typeof v === "object" && depth === 0 ? mergeAnthropicUsage({}, v, 1) : v;
  }
  return into;
}

export function fromAnthropicResponse(r: AnthropicResponse, jsonTool: boolean): ChatResponse {
  let text = "";
  const toolCalls: ToolCall[] = [];
  let finish = finishFromAnthropic(r.stop_reason);
  for (const b of r.content ?? []) {
    if (b.type === "text") text += (b as { text: string }).text;
    else if (b.type === "tool_use") {
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
        },
        finish_reason: finish,
        logprobs: null,
      },
    ],
    usage: usageToOpenAI(usageFromAnthropic(r.usage)),
  };
}

const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
  timeout_error: 504,
};

export function createAnthropicAdapter(o: AnthropicAdapterOptions = {}): ProviderAdapter {
  const label = o.label ?? "anthropic";
  const url = (base: string) => joinUrl(base, /\/v1\/?$/.test(base) ? "messages" : "v1/messages");
  const headers = (target: UpstreamTarget, stream: boolean): Record<string, string> => ({
    ...safeExtraHeaders(target.headers),
    "anthropic-version": ANTHROPIC_VERSION,
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    ...(target.apiKey ? { "x-api-key": target.apiKey } : {}),
  });

  return {
    format: "anthropic",
    async chat(req, target, opts): Promise<ChatResult> {
      const { body, jsonTool } = toAnthropicRequest(req, target.model, o.defaultMaxTokens);
      const stream = body.stream === true;
      const call = await postJson({
        url: url(target.baseUrl),
        headers: headers(target, stream),
        body,
        opts,
        apiKey: target.apiKey,
        label,
      });
      if (!stream) {
        const json = (await call.json()) as AnthropicResponse;
        if (!json || json.type !== "message" || !Array.isArray(json.content))
          throw new UpstreamError("protocol", `${label} response is not a message`);
        const response = fromAnthropicResponse(json, jsonTool);
        return { kind: "response", response, usage: usageFromAnthropic(json.usage) };
      }
      let raw: AnthropicUsage | undefined;
      let usage: Usage | undefined;
      async function* chunks(): AsyncGenerator<ChatChunk, void, undefined> {
        let id = "";
        let model = target.model;
        const created = Math.floor(Date.now() / 1000);
        const blocks = new Map<number, { kind: "text" | "json" | "skip" } | { kind: "tool"; tool: number }>();
        let tools = 0;
        let stopped = false;
        const chunk = (delta: ChatChunk["choices"][0]["delta"], finish: FinishReason | null = null): ChatChunk => ({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          choices: [{ index: 0, delta, finish_reason: finish }],
        });
        for await (const ev of sseEvents(call, label)) {
          const e = parseEventJson(ev.data, label) as Record<string, any>;
          switch (e?.type) {
            case "message_start":
              id = e.message?.id ?? id;
              model = e.message?.model ?? model;
              raw = mergeAnthropicUsage({}, e.message?.usage);
              usage = usageFromAnthropic(raw);
              yield chunk({ role: "assistant", content: "" });
              break;
            case "content_block_start": {
              const b = e.content_block ?? {};
              if (b.type === "text") {
                blocks.set(e.index, { kind: "text" });
                if (b.text) yield chunk({ content: b.text });
              } else if (b.type === "tool_use" && jsonTool && b.name === JSON_TOOL) {
                blocks.set(e.index, { kind: "json" });
              } else if (b.type === "tool_use") {
                const tool = tools++;
                blocks.set(e.index, { kind: "tool", tool });
                yield chunk({
                  tool_calls: [{ index: tool, id: b.id, type: "function", function: { name: b.name, arguments: "" } }],
                });
              } else blocks.set(e.index, { kind: "skip" });
              break;
            }
            case "content_block_delta": {
              const b = blocks.get(e.index);
              const d = e.delta ?? {};
              if (d.type === "text_delta" && b?.kind === "text") yield chunk({ content: d.text });
              else if (d.type === "input_json_delta" && b?.kind === "json") yield chunk({ content: d.partial_json });
              else if (d.type === "input_json_delta" && b?.kind === "tool") {
                yield chunk({ tool_calls: [{ index: b.tool, function: { arguments: d.partial_json } }] });
              }
              break;
            }
            case "message_delta": {
              raw = mergeAnthropicUsage(raw ?? {}, e.usage);
              usage = usageFromAnthropic(raw);
              let finish = finishFromAnthropic(e.delta?.stop_reason) ?? "stop";
              if (jsonTool && finish === "tool_calls" && tools === 0) finish = "stop";
              yield chunk({}, finish);
              break;
            }
            case "message_stop":
              stopped = true;
              break;
            case "error": {
              const type = String(e.error?.type ?? "api_error");
              throw new UpstreamError(
                "http",
                scrubSecret(`${label} stream error: ${e.error?.message ?? type}`, target.apiKey),
                {
                  status: ERROR_STATUS[type] ?? 500,
                  upstreamCode: type,
                },
              );
            }
            default:
              break; // ping and future event types
          }
          if (stopped) break;
        }
        if (!stopped) throw new UpstreamError("protocol", `${label} stream ended before message_stop`);
        if (usage)
          yield { id, object: "chat.completion.chunk", created, model, choices: [], usage: usageToOpenAI(usage) };
      }
      return { kind: "stream", stream: chunks(), usage: () => usage };
    },
  };
}
