/**
 * Google Gemini adapter: generateContent / streamGenerateContent?alt=sse and
 * batchEmbedContents. Invariants:
 * - The API key travels only in the `x-goog-api-key` header, never in the URL
 *   (URLs end up in logs and traces); the model id is path-encoded. A host of
 *   the same wire format under its own addressing (Vertex AI) passes `url` and
 *   `auth: "bearer"` (its access token as `Authorization: Bearer`).
 * - Translation lives beside it: request.ts (canonical → generateContent),
 *   response.ts (answers and stream events), usage.ts.
 * - Embeddings report no usage: estimated, and flagged.
 * - A stream must show a finishReason before it closes, else it was truncated.
 * - Thought parts become `reasoning_content` (whole) and `delta.reasoning_content`
 *   (streamed); Gemini's thought signatures are not carried.
 */
import { invalidRequest } from "../../errors.js";
import type { ChatChunk, ChatResponse, EmbeddingsRequest, FinishReason, ToolCallDelta, Usage } from "../../types.js";
import { usageToOpenAI } from "../../types.js";
import { joinUrl, newId, parseEventJson, postJson, safeExtraHeaders, sseEvents } from "../http/index.js";
import {
  UpstreamError,
  type CallOptions,
  type ChatResult,
  type EmbeddingsResult,
  type ProviderAdapter,
  type UpstreamTarget,
} from "../types.js";
import { countGeminiTokens } from "./count-tokens.js";
import { checkError } from "./errors.js";
import { toGeminiRequest } from "./request.js";
import { finishFromGemini, partsOf, type GenResponse } from "./response.js";
import { usageFromGemini } from "./usage.js";

export interface GeminiAdapterOptions {
  label?: string;
  /**
   * The URL of a model method ("generateContent", "streamGenerateContent?alt=sse") for a target
   * (default: `{baseUrl}/v1beta/models/{model}:{method}`).
   */
  url?: (target: UpstreamTarget, method: string) => string;
  /** `Authorization: Bearer` (an access token) instead of the `x-goog-api-key` header. */
  auth?: "api-key" | "bearer";
}

export function createGeminiAdapter(o: GeminiAdapterOptions = {}): ProviderAdapter {
  const label = o.label ?? "gemini";
  const base = (b: string) => (/\/v1(alpha|beta)?\d*\/?$/.test(b) ? b : joinUrl(b, "v1beta"));
  const modelPath = (m: string) => `models/${encodeURIComponent(m.replace(/^models\//, ""))}`;
  const methodUrl =
    o.url ?? ((t: UpstreamTarget, method: string) => joinUrl(base(t.baseUrl), `${modelPath(t.model)}:${method}`));
  const keyHeader = (key: string): Record<string, string> =>
    o.auth === "bearer" ? { authorization: `Bearer ${key}` } : { "x-goog-api-key": key };
  const headers = (t: UpstreamTarget, stream: boolean): Record<string, string> => ({
    ...safeExtraHeaders(t.headers),
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    ...(t.apiKey ? keyHeader(t.apiKey) : {}),
  });

  return {
    format: "gemini",
    countTokens: (req, target, opts) =>
      countGeminiTokens(
        req,
        modelPath(target.model),
        {
          url: methodUrl(target, "countTokens"),
          headers: headers(target, false),
          apiKey: target.apiKey,
          label,
        },
        opts,
      ),
    async chat(req, target, opts): Promise<ChatResult> {
      const stream = req.stream === true;
      const url = methodUrl(target, stream ? "streamGenerateContent?alt=sse" : "generateContent");
      const call = await postJson({
        url,
        headers: headers(target, stream),
        body: toGeminiRequest(req, target.model),
        opts,
        apiKey: target.apiKey,
        label,
      });
      const created = Math.floor(Date.now() / 1000);
      if (!stream) {
        const r = (await call.json()) as GenResponse;
        checkError(r, label, target.apiKey);
        if (!r || typeof r !== "object") throw new UpstreamError("protocol", `${label} returned an empty response`);
        const usage = usageFromGemini(r.usageMetadata);
        const cands = r.candidates ?? [];
        const choices: ChatResponse["choices"] = cands.map((c, i) => {
          const { text, reasoning, calls } = partsOf(c);
          return {
            index: c.index ?? i,
            message: {
              role: "assistant",
              content: text || (calls.length ? null : ""),
              ...(calls.length ? { tool_calls: calls } : {}),
              refusal: null,
              ...(reasoning ? { reasoning_content: reasoning } : {}),
            },
            finish_reason: finishFromGemini(c.finishReason ?? "STOP", calls.length > 0),
            logprobs: null,
          };
        });
        if (!choices.length) {
          if (!r.promptFeedback?.blockReason)
            throw new UpstreamError("protocol", `${label} response has no candidates`);
          choices.push({
            index: 0,
            message: { role: "assistant", content: "", refusal: null },
            finish_reason: "content_filter",
            logprobs: null,
          });
        }
        const response: ChatResponse = {
          id: r.responseId ?? newId("chatcmpl-"),
          object: "chat.completion",
          created,
          model: r.modelVersion ?? target.model,
          choices,
          ...(usage ? { usage: usageToOpenAI(usage) } : {}),
        };
        return { kind: "response", response, usage };
      }
      let usage: Usage | undefined;
      async function* chunks(): AsyncGenerator<ChatChunk, void, undefined> {
        let id = newId("chatcmpl-");
        let model = target.model;
        const started = new Set<number>();
        const toolCount = new Map<number, number>();
        let finished = false;
        const chunk = (
          index: number,
          delta: ChatChunk["choices"][0]["delta"],
          finish: FinishReason | null = null,
        ): ChatChunk => ({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          choices: [{ index, delta, finish_reason: finish }],
        });
        for await (const ev of sseEvents(call, label)) {
          const r = parseEventJson(ev.data, label) as GenResponse;
          checkError(r, label, target.apiKey);
          if (r.responseId) id = r.responseId;
          if (r.modelVersion) model = r.modelVersion;
          usage = usageFromGemini(r.usageMetadata) ?? usage;
          if (!r.candidates?.length && r.promptFeedback?.blockReason) {
            finished = true;
            yield chunk(0, { role: "assistant", content: "" }, "content_filter");
          }
          for (const [i, c] of (r.candidates ?? []).entries()) {
            const index = c.index ?? i;
            const { text, reasoning, calls } = partsOf(c);
            const first = !started.has(index);
            started.add(index);
            const role = first ? { role: "assistant" as const } : {};
            if (reasoning) yield chunk(index, { ...role, reasoning_content: reasoning });
            if (text || (first && !reasoning)) yield chunk(index, { ...(reasoning ? {} : role), content: text });
            if (calls.length) {
              const k = toolCount.get(index) ?? 0;
              toolCount.set(index, k + calls.length);
              const deltas: ToolCallDelta[] = calls.map((tc, j) => ({
                index: k + j,
                id: tc.id,
                type: "function",
                function: tc.function,
              }));
              yield chunk(index, { tool_calls: deltas });
            }
            if (c.finishReason) {
              finished = true;
              yield chunk(index, {}, finishFromGemini(c.finishReason, (toolCount.get(index) ?? 0) > 0));
            }
          }
        }
        if (!finished) throw new UpstreamError("protocol", `${label} stream ended without a finish reason`);
        if (usage)
          yield { id, object: "chat.completion.chunk", created, model, choices: [], usage: usageToOpenAI(usage) };
      }
      return { kind: "stream", stream: chunks(), usage: () => usage };
    },

    async embeddings(req: EmbeddingsRequest, target: UpstreamTarget, opts: CallOptions): Promise<EmbeddingsResult> {
      const inputs = typeof req.input === "string" ? [req.input] : req.input;
      if (!inputs.every((x): x is string => typeof x === "string")) {
        throw invalidRequest("unsupported_input", "This provider embeds text only (no token arrays).", "input");
      }
      const model = modelPath(target.model);
      const url = methodUrl(target, "batchEmbedContents");
      const body = {
        requests: inputs.map((text) => ({
          model: decodeURIComponent(model),
          content: { parts: [{ text }] },
          ...(req.dimensions ? { outputDimensionality: req.dimensions } : {}),
        })),
      };
      const call = await postJson({ url, headers: headers(target, false), body, opts, apiKey: target.apiKey, label });
      const r = (await call.json()) as { embeddings?: Array<{ values?: number[] }>; error?: unknown };
      checkError(r as GenResponse, label, target.apiKey);
      if (!Array.isArray(r?.embeddings) || r.embeddings.length !== inputs.length) {
        throw new UpstreamError("protocol", `${label} embeddings response does not match the input`);
      }
      const tokens = inputs.reduce((s, t) => s + Math.ceil(t.length / 4), 0);
      return {
        response: {
          object: "list",
          data: r.embeddings.map((e, index) => ({
            object: "embedding",
            index,
            embedding:
              req.encoding_format === "base64"
                ? Buffer.from(new Float32Array(e.values ?? []).buffer).toString("base64")
                : (e.values ?? []),
          })),
          model: target.model,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        },
        usage: { inputTokens: tokens, cachedInputTokens: 0, outputTokens: 0, estimated: true },
      };
    },
  };
}
