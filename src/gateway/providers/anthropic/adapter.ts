/**
 * Anthropic Messages API adapter (canonical ⇄ Messages). Invariants:
 * - Translation lives beside it: request.ts (canonical → Messages), response.ts
 *   (a whole answer), usage.ts; this file calls the API and translates streams.
 * - A request that came in this format is sent as written (native.ts).
 * - A stream must end with message_stop; an `error` event or a close before it
 *   is an UpstreamError from the iterator.
 * - The first thinking block streams as `delta.reasoning_content`, its
 *   signature once after it, as `delta.reasoning_signature` (later blocks,
 *   interleaved between tool calls, are left out: see response.ts).
 * - A host of the Messages API under its own addressing (Vertex AI) passes
 *   `url`, `auth: "bearer"` and `bodyVersion`: the version then travels in the
 *   body as `anthropic_version`, and the body names no model (the URL does).
 */
import { finishFromAnthropic, type AnthropicResponse } from "../../formats/anthropic-wire.js";
import type { ChatChunk, FinishReason, Usage } from "../../types.js";
import { usageToOpenAI } from "../../types.js";
import { joinUrl, parseEventJson, postJson, safeExtraHeaders, sseEvents } from "../http/index.js";
import { UpstreamError, type ChatResult, type ProviderAdapter, type UpstreamTarget } from "../types.js";
import { countAnthropicTokens } from "./count-tokens.js";
import { streamErrorEvent } from "./errors.js";
import { nativeMessages } from "./native.js";
import { JSON_TOOL, toAnthropicRequest } from "./request.js";
import { fromAnthropicResponse } from "./response.js";
import { mergeAnthropicUsage, usageFromAnthropic, type AnthropicUsage } from "./usage.js";

export const ANTHROPIC_VERSION = "2023-06-01";

/** The fields of a Messages stream event that chunks() reads, as the API documents them (not validated). */
interface StreamEvent {
  type?: string;
  index: number;
  message?: { id?: string; model?: string; usage?: unknown };
  content_block?: { type?: string; text?: string; id?: string; name?: string; thinking?: string; signature?: string };
  delta?: {
    type?: string;
    text?: string;
    partial_json?: string;
    thinking?: string;
    signature?: string;
    stop_reason?: string | null;
  };
  usage?: unknown;
  error?: { type?: unknown; message?: unknown };
}

export interface AnthropicAdapterOptions {
  label?: string;
  /** max_tokens when the request sets none (the API requires one). */
  defaultMaxTokens?: number;
  /** The Messages URL for a target, streamed or not (default: `{baseUrl}/v1/messages`). */
  url?: (target: UpstreamTarget, stream: boolean) => string;
  /** `Authorization: Bearer` (an access token) instead of the `x-api-key` header. */
  auth?: "x-api-key" | "bearer";
  /** The API version sent in the body as `anthropic_version` (no header, no `model` field), e.g. "vertex-2023-10-16". */
  bodyVersion?: string;
}

export function createAnthropicAdapter(o: AnthropicAdapterOptions = {}): ProviderAdapter {
  const label = o.label ?? "anthropic";
  const url = (base: string) => joinUrl(base, /\/v1\/?$/.test(base) ? "messages" : "v1/messages");
  const messagesUrl = o.url ?? ((target: UpstreamTarget) => url(target.baseUrl));
  const keyHeader = (key: string): Record<string, string> =>
    o.auth === "bearer" ? { authorization: `Bearer ${key}` } : { "x-api-key": key };
  const headers = (target: UpstreamTarget, stream: boolean): Record<string, string> => ({
    ...safeExtraHeaders(target.headers),
    ...(o.bodyVersion ? {} : { "anthropic-version": ANTHROPIC_VERSION }),
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    ...(target.apiKey ? keyHeader(target.apiKey) : {}),
  });
  /** The body as the host takes it: with the version in it and no model, when the version goes in the body. */
  const hostBody = (body: Record<string, unknown>): Record<string, unknown> => {
    if (!o.bodyVersion) return body;
    const { model: _model, ...rest } = body;
    return { anthropic_version: o.bodyVersion, ...rest };
  };

  return {
    format: "anthropic",
    countTokens: (req, target, opts, native) =>
      countAnthropicTokens(
        req,
        target.model,
        native,
        {
          url: joinUrl(url(target.baseUrl), "count_tokens"),
          headers: headers(target, false),
          apiKey: target.apiKey,
          label,
        },
        opts,
      ),
    async chat(req, target, opts, native): Promise<ChatResult> {
      if (native)
        return nativeMessages(
          native,
          target.model,
          { url: url(target.baseUrl), headers: (s) => headers(target, s), apiKey: target.apiKey, label },
          opts,
        );
      const { body, jsonTool } = toAnthropicRequest(req, target.model, o.defaultMaxTokens);
      const stream = body.stream === true;
      const call = await postJson({
        url: messagesUrl(target, stream),
        headers: headers(target, stream),
        body: hostBody(body as unknown as Record<string, unknown>),
        opts,
        apiKey: target.apiKey,
        label,
      });
      if (!stream) {
        const json = (await call.json()) as AnthropicResponse;
        if (json?.type !== "message" || !Array.isArray(json.content))
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
        const blocks = new Map<
          number,
          { kind: "text" | "json" | "skip" } | { kind: "tool"; tool: number } | { kind: "thinking"; signature: string }
        >();
        let thought = false;
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
          const e = parseEventJson(ev.data, label) as StreamEvent | null;
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
              } else if (b.type === "thinking" && !thought) {
                thought = true;
                blocks.set(e.index, { kind: "thinking", signature: b.signature ?? "" });
                if (b.thinking) yield chunk({ reasoning_content: b.thinking });
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
              else if (d.type === "thinking_delta" && b?.kind === "thinking" && d.thinking)
                yield chunk({ reasoning_content: d.thinking });
              else if (d.type === "signature_delta" && b?.kind === "thinking") b.signature += d.signature ?? "";
              else if (d.type === "input_json_delta" && b?.kind === "json") yield chunk({ content: d.partial_json });
              else if (d.type === "input_json_delta" && b?.kind === "tool") {
                yield chunk({ tool_calls: [{ index: b.tool, function: { arguments: d.partial_json } }] });
              }
              break;
            }
            case "content_block_stop": {
              const b = blocks.get(e.index);
              if (b?.kind === "thinking" && b.signature) {
                yield chunk({ reasoning_signature: b.signature });
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
            case "error":
              throw streamErrorEvent(e.error, label, target.apiKey);
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
