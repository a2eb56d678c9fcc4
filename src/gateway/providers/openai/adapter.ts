/**
 * OpenAI Chat Completions / Embeddings adapter (images, audio and moderations
 * in media.ts), also used for every
 * OpenAI-compatible server (xAI, Mistral, DeepSeek, Groq, Together, Fireworks,
 * OpenRouter, vLLM, Ollama, LM Studio) with quirks as options. Invariants:
 * - The canonical request IS this wire format: it is forwarded as-is except
 *   for the provider-side model id, the options below, and Anthropic's signed
 *   reasoning on assistant turns (left out: only Anthropic can take it).
 * - Streams always ask for usage (stream_options.include_usage) and the
 *   stream yields exactly one trailing usage-only chunk (`choices: []`) when
 *   the upstream reported usage — wherever the upstream put it (separate
 *   chunk, last choice chunk, or Groq's `x_groq.usage`). The route drops that
 *   chunk when its client did not ask for include_usage.
 * - A stream that closes before `[DONE]` and before any finish_reason is a
 *   truncated stream: a `protocol` UpstreamError, never a quiet end.
 * - A request that came in as a Responses request is sent as written to
 *   `{baseUrl}/responses` (responses.ts).
 */
import type {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  EmbeddingsRequest,
  EmbeddingsResponse,
  Usage,
} from "../../types.js";
import { usageFromOpenAI, usageToOpenAI } from "../../types.js";
import { joinUrl, parseEventJson, postJson, safeExtraHeaders, sseBatches } from "../http/index.js";
import {
  UpstreamError,
  type CallOptions,
  type ChatResult,
  type EmbeddingsResult,
  type ProviderAdapter,
  type UpstreamTarget,
} from "../types.js";
import { streamError } from "./errors.js";
import { openaiMedia } from "./media.js";
import { nativeResponses } from "./responses.js";

export interface OpenAIAdapterOptions {
  /** Name used in error messages ("openai", "openai-compatible", or the provider slug). */
  label?: string;
  /** Ask for stream usage via stream_options (default true; some old servers reject the field). */
  streamUsage?: boolean;
  /** Rename max_tokens for servers that only accept one of the two fields. */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** Azure-style `api-key` header instead of `Authorization: Bearer`. */
  auth?: "bearer" | "api-key";
  /** The URL of an API path ("chat/completions", "embeddings") for a target (default: under its base URL). */
  url?: (target: UpstreamTarget, path: string) => string;
}

/** Anthropic's signed thinking (Tollgate's reasoning_signature) is for Anthropic only: left out of the turn. */
function withoutAnthropicReasoning(m: ChatMessage): ChatMessage {
  if (m.role !== "assistant" || m.reasoning_signature == null) return m;
  const { reasoning_content: _text, reasoning_signature: _signature, ...rest } = m;
  return rest;
}

export function createOpenAIAdapter(o: OpenAIAdapterOptions = {}): ProviderAdapter {
  const label = o.label ?? "openai";
  const urlFor = o.url ?? ((target: UpstreamTarget, path: string) => joinUrl(target.baseUrl, path));

  const headersFor = (target: UpstreamTarget, stream: boolean): Record<string, string> => {
    const h: Record<string, string> = {
      ...safeExtraHeaders(target.headers),
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
    };
    if (target.apiKey) {
      if (o.auth === "api-key") h["api-key"] = target.apiKey;
      else h.authorization = `Bearer ${target.apiKey}`;
    }
    return h;
  };

  const buildBody = (req: ChatRequest, target: UpstreamTarget): Record<string, unknown> => {
    const body: Record<string, unknown> = { ...req, model: target.model };
    if (req.messages.some((m) => m.role === "assistant" && m.reasoning_signature != null))
      body.messages = req.messages.map(withoutAnthropicReasoning);
    const max = req.max_completion_tokens ?? req.max_tokens;
    if (o.maxTokensField && max != null) {
      delete body.max_tokens;
      delete body.max_completion_tokens;
      body[o.maxTokensField] = max;
    }
    if (req.stream) {
      if (o.streamUsage === false) delete body.stream_options;
      else body.stream_options = { ...(req.stream_options ?? {}), include_usage: true };
    } else {
      delete body.stream;
      delete body.stream_options;
    }
    return body;
  };

  return {
    format: "openai",
    ...openaiMedia(label, headersFor),

    async chat(req, target, opts, native): Promise<ChatResult> {
      if (native)
        return nativeResponses(
          native,
          target.model,
          {
            url: joinUrl(target.baseUrl, "responses"),
            headers: (s) => headersFor(target, s),
            apiKey: target.apiKey,
            label,
          },
          opts,
        );
      const stream = req.stream === true;
      const call = await postJson({
        url: urlFor(target, "chat/completions"),
        headers: headersFor(target, stream),
        body: buildBody(req, target),
        opts,
        apiKey: target.apiKey,
        label,
      });
      if (!stream) {
        const json = await call.json();
        const response = asChatResponse(json, label, target.apiKey);
        return { kind: "response", response, usage: usageFromOpenAI(response.usage) };
      }
      let usage: Usage | undefined;
      async function* chunks(): AsyncGenerator<ChatChunk, void, undefined> {
        let done = false;
        let finished = false;
        let last: Pick<ChatChunk, "id" | "created" | "model"> = { id: "", created: 0, model: target.model };
        read: for await (const events of sseBatches(call, label)) {
          for (const ev of events) {
            if (ev.data === "[DONE]") {
              done = true;
              break read;
            }
            const raw = parseEventJson(ev.data, label) as Record<string, unknown>;
            if (raw && typeof raw === "object" && raw.error) throw streamError(raw, label, target.apiKey);
            if (!raw || typeof raw !== "object" || !Array.isArray(raw.choices)) {
              if (raw && typeof raw === "object" && raw.usage) usage = usageFromOpenAI(raw.usage as never) ?? usage;
              continue;
            }
            const chunk = raw as unknown as ChatChunk & { x_groq?: { usage?: unknown } };
            const u = usageFromOpenAI(chunk.usage ?? (chunk.x_groq?.usage as never));
            if (u) usage = u;
            last = { id: chunk.id, created: chunk.created, model: chunk.model };
            for (const c of chunk.choices) if (c.finish_reason) finished = true;
            if (chunk.choices.length === 0) continue;
            // The parsed event is ours: adjust it in place instead of copying it per chunk
            // (undefined fields are left out when the chunk is serialised again).
            if (chunk.usage !== undefined) chunk.usage = undefined;
            if (chunk.x_groq !== undefined) chunk.x_groq = undefined;
            chunk.object = "chat.completion.chunk";
            yield chunk;
          }
        }
        if (!done && !finished) throw new UpstreamError("protocol", `${label} stream ended before completion`);
        call.close();
        if (usage) yield { ...last, object: "chat.completion.chunk", choices: [], usage: usageToOpenAI(usage) };
      }
      return { kind: "stream", stream: chunks(), usage: () => usage };
    },

    async embeddings(req: EmbeddingsRequest, target: UpstreamTarget, opts: CallOptions): Promise<EmbeddingsResult> {
      const call = await postJson({
        url: urlFor(target, "embeddings"),
        headers: headersFor(target, false),
        body: { ...req, model: target.model },
        opts,
        apiKey: target.apiKey,
        label,
      });
      const json = (await call.json()) as EmbeddingsResponse;
      if (!json || !Array.isArray(json.data))
        throw new UpstreamError("protocol", `${label} embeddings response has no data`);
      const prompt = Math.max(0, Math.floor(Number(json.usage?.prompt_tokens) || 0));
      return { response: json, usage: { inputTokens: prompt, cachedInputTokens: 0, outputTokens: 0 } };
    },

    async listModels(target: UpstreamTarget, opts: CallOptions): Promise<string[]> {
      const call = await postJson({
        url: urlFor(target, "models"),
        headers: headersFor(target, false),
        body: null,
        method: "GET",
        opts,
        apiKey: target.apiKey,
        label,
      });
      const json = (await call.json()) as { data?: unknown } | unknown[] | null;
      // `{"object":"list","data":[{"id":…}]}`; a few servers answer the bare array.
      const list = Array.isArray(json) ? json : json && Array.isArray(json.data) ? json.data : null;
      if (!list) throw new UpstreamError("protocol", `${label} model list has no data`);
      const ids = new Set<string>();
      for (const m of list) {
        const id = (m as { id?: unknown } | null)?.id;
        if (typeof id === "string" && id.trim()) ids.add(id);
      }
      return [...ids];
    },
  };
}

function asChatResponse(json: unknown, label: string, apiKey?: string): ChatResponse {
  if (!json || typeof json !== "object") throw new UpstreamError("protocol", `${label} returned an empty response`);
  const r = json as Record<string, unknown>;
  if (r.error) throw streamError(r, label, apiKey);
  if (!Array.isArray(r.choices)) throw new UpstreamError("protocol", `${label} response has no choices`);
  return { ...(r as unknown as ChatResponse), object: "chat.completion" };
}
