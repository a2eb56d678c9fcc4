/**
 * Google Gemini adapter: generateContent / streamGenerateContent?alt=sse and
 * batchEmbedContents. Invariants:
 * - The API key travels only in the `x-goog-api-key` header, never in the URL
 *   (URLs end up in logs and traces); the model id is path-encoded.
 * - Tool results need the function *name*: it is recovered from the earlier
 *   assistant tool call with the same id. Gemini may omit call ids: we mint them.
 * - JSON schemas are reduced to the OpenAPI subset Gemini accepts.
 * - Usage: output includes thinking tokens (billed as output); input includes
 *   cachedContentTokenCount and tool-use prompt tokens; audio/image parts come
 *   from the per-modality details. Embeddings report no usage: estimated, and flagged.
 * - A stream must show a finishReason before it closes, else it was truncated.
 */
import { invalidRequest } from "../errors.js";
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  EmbeddingsRequest,
  FinishReason,
  ToolCall,
  ToolCallDelta,
  Usage,
} from "../types.js";
import { contentText, usageToOpenAI } from "../types.js";
import { parseDataUrl } from "../formats/anthropic-wire.js";
import {
  joinUrl,
  newId,
  parseEventJson,
  postJson,
  safeExtraHeaders,
  scrubSecret,
  sseEvents,
  extractUpstreamError,
} from "./http.js";
import {
  UpstreamError,
  type CallOptions,
  type ChatResult,
  type EmbeddingsResult,
  type ProviderAdapter,
  type UpstreamTarget,
} from "./types.js";

type Part = Record<string, unknown>;
interface Content {
  role: "user" | "model";
  parts: Part[];
}
interface Candidate {
  content?: { parts?: Part[] };
  finishReason?: string;
  index?: number;
}
interface ModalityCount {
  modality?: string;
  tokenCount?: number;
}
/** The UsageMetadata fields we meter (Gemini omits zero counts). */
export interface UsageMetadata {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: ModalityCount[];
  cacheTokensDetails?: ModalityCount[];
  candidatesTokensDetails?: ModalityCount[];
  toolUsePromptTokensDetails?: ModalityCount[];
}
interface GenResponse {
  candidates?: Candidate[];
  usageMetadata?: UsageMetadata;
  promptFeedback?: { blockReason?: string };
  responseId?: string;
  modelVersion?: string;
  error?: unknown;
}

const SCHEMA_KEYS = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum",
]);

/** JSON Schema → Gemini's OpenAPI-subset Schema (depth-bounded; input is depth-checked upstream anyway). */
export function toGeminiSchema(s: unknown, depth = 0): unknown {
  if (depth > 64 || !s || typeof s !== "object" || Array.isArray(s)) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    if (!SCHEMA_KEYS.has(k)) continue;
    if (k === "type" && Array.isArray(v)) {
      const types = v.filter((t) => t !== "null");
      out.type = types[0] ?? "string";
      if (types.length < v.length) out.nullable = true;
    } else if (k === "properties" && v && typeof v === "object") {
      out.properties = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, toGeminiSchema(pv, depth + 1)]));
    } else if (k === "items" || k === "anyOf") {
      out[k] = Array.isArray(v) ? v.map((x) => toGeminiSchema(x, depth + 1)) : toGeminiSchema(v, depth + 1);
    } else out[k] = v;
  }
  return out;
}

function imagePart(url: string): Part {
  const d = parseDataUrl(url);
  if (d) return { inlineData: { mimeType: d.mediaType, data: d.data } };
  const ext = /\.(png|jpe?g|gif|webp)(?:$|\?)/i.exec(url)?.[1]?.toLowerCase();
  const mime = ext === "png" ? "image/png" : ext === "gif" ? "image/gif" : ext === "webp" ? "image/webp" : "image/jpeg";
  return { fileData: { mimeType: mime, fileUri: url } };
}

export function toGeminiRequest(req: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const contents: Content[] = [];
  const names = new Map<string, string>();
  const push = (role: Content["role"], parts: Part[]) => {
    if (!parts.length) return;
    const prev = contents[contents.length - 1];
    if (prev && prev.role === role) prev.parts.push(...parts);
    else contents.push({ role, parts });
  };
  req.messages.forEach((m, i) => {
    if (m.role === "system" || m.role === "developer") system.push(contentText(m.content));
    else if (m.role === "user") {
      if (typeof m.content === "string") return push("user", [{ text: m.content }]);
      push(
        "user",
        m.content.map((p) => {
          if (p.type === "text") return { text: p.text };
          if (p.type === "image_url") return imagePart(p.image_url.url);
          throw invalidRequest(
            "unsupported_content",
            `Content part type "${p.type}" is not supported by this provider.`,
            `messages[${i}].content`,
          );
        }),
      );
    } else if (m.role === "assistant") {
      const parts: Part[] = [];
      const text = contentText(m.content);
      if (text) parts.push({ text });
      for (const tc of m.tool_calls ?? []) {
        names.set(tc.id, tc.function.name);
        let args: unknown;
        try {
          args = tc.function.arguments ? JSON.parse(tc.function.arguments) : {};
        } catch {
          throw invalidRequest(
            "invalid_tool_arguments",
            "Tool call arguments must be valid JSON.",
            `messages[${i}].tool_calls`,
          );
        }
        parts.push({ functionCall: { name: tc.function.name, args } });
      }
      push("model", parts);
    } else if (m.role === "tool") {
      const name = names.get(m.tool_call_id);
      if (!name)
        throw invalidRequest(
          "unknown_tool_call",
          "A tool message refers to a tool call id that no assistant message made.",
          `messages[${i}].tool_call_id`,
        );
      const text = contentText(m.content);
      let response: unknown;
      try {
        response = JSON.parse(text);
      } catch {
        response = undefined;
      }
      if (!response || typeof response !== "object" || Array.isArray(response)) response = { content: text };
      push("user", [{ functionResponse: { name, response } }]);
    }
  });

  const body: Record<string, unknown> = { contents };
  const sys = system.filter(Boolean).join("\n\n");
  if (sys) body.systemInstruction = { parts: [{ text: sys }] };
  if (req.tools?.length) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => {
          const params = t.function.parameters;
          const hasProps =
            params && typeof params.properties === "object" && Object.keys(params.properties as object).length > 0;
          return {
            name: t.function.name,
            ...(t.function.description ? { description: t.function.description } : {}),
            ...(hasProps ? { parameters: toGeminiSchema(params) } : {}),
          };
        }),
      },
    ];
    const tc = req.tool_choice;
    const mode = tc === "none" ? "NONE" : tc === "required" || typeof tc === "object" ? "ANY" : "AUTO";
    body.toolConfig = {
      functionCallingConfig: { mode, ...(typeof tc === "object" ? { allowedFunctionNames: [tc.function.name] } : {}) },
    };
  }
  const g: Record<string, unknown> = {};
  if (req.temperature != null) g.temperature = req.temperature;
  if (req.top_p != null) g.topP = req.top_p;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) g.maxOutputTokens = max;
  const stop = typeof req.stop === "string" ? [req.stop] : (req.stop ?? []);
  if (stop.length) g.stopSequences = stop;
  if (req.n != null && req.n > 1) g.candidateCount = req.n;
  if (req.seed != null) g.seed = req.seed;
  if (req.presence_penalty != null) g.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) g.frequencyPenalty = req.frequency_penalty;
  const rf = req.response_format;
  if (rf?.type === "json_object" || rf?.type === "json_schema") {
    g.responseMimeType = "application/json";
    if (rf.type === "json_schema" && rf.json_schema.schema) g.responseSchema = toGeminiSchema(rf.json_schema.schema);
  }
  if (Object.keys(g).length) body.generationConfig = g;
  return body;
}

export function finishFromGemini(r: string | undefined, hasTools: boolean): FinishReason | null {
  if (!r) return null;
  if (hasTools) return "tool_calls";
  if (r === "STOP") return "stop";
  if (r === "MAX_TOKENS") return "length";
  if (/SAFETY|RECITATION|BLOCKLIST|PROHIBITED|SPII/.test(r)) return "content_filter";
  return "stop";
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** Tokens of one modality in a ModalityTokenCount list (0 when absent or malformed). */
function modality(list: ModalityCount[] | undefined, name: string): number {
  if (!Array.isArray(list)) return 0;
  let sum = 0;
  for (const d of list) if (d && d.modality === name) sum += count(d.tokenCount);
  return sum;
}

export function usageFromGemini(m: UsageMetadata | undefined): Usage | undefined {
  if (!m || typeof m !== "object") return undefined;
  const input = count(m.promptTokenCount) + count(m.toolUsePromptTokenCount);
  const cached = Math.min(count(m.cachedContentTokenCount), input);
  const thoughts = count(m.thoughtsTokenCount);
  const candidates = count(m.candidatesTokenCount);
  const usage: Usage = { inputTokens: input, cachedInputTokens: cached, outputTokens: candidates + thoughts };
  // Tool-use prompt tokens are input too, and carry their own modality breakdown.
  const audioIn = Math.min(
    modality(m.promptTokensDetails, "AUDIO") + modality(m.toolUsePromptTokensDetails, "AUDIO"),
    input,
  );
  if (audioIn) usage.audioInputTokens = audioIn;
  const cachedAudio = Math.min(modality(m.cacheTokensDetails, "AUDIO"), audioIn, cached);
  if (cachedAudio) usage.cachedAudioInputTokens = cachedAudio;
  const imageIn = Math.min(
    modality(m.promptTokensDetails, "IMAGE") + modality(m.toolUsePromptTokensDetails, "IMAGE"),
    input - audioIn,
  );
  if (imageIn) usage.imageInputTokens = imageIn;
  if (thoughts) usage.reasoningTokens = thoughts;
  // candidatesTokensDetails breaks down candidatesTokenCount, which excludes thoughts.
  const audioOut = Math.min(modality(m.candidatesTokensDetails, "AUDIO"), candidates);
  if (audioOut) usage.audioOutputTokens = audioOut;
  const imageOut = Math.min(modality(m.candidatesTokensDetails, "IMAGE"), candidates - audioOut);
  if (imageOut) usage.imageOutputTokens = imageOut;
  return usage;
}

function partsOf(c: Candidate): { text: string; calls: ToolCall[] } {
  let text = "";
  const calls: ToolCall[] = [];
  for (const p of c.content?.parts ?? []) {
    if (typeof p.text === "string" && !p.thought) text += p.text;
    const fc = p.functionCall as { name?: string; args?: unknown; id?: string } | undefined;
    if (fc?.name)
      calls.push({
        id: fc.id ?? newId("call_"),
        type: "function",
        function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) },
      });
  }
  return { text, calls };
}

function checkError(r: GenResponse, label: string, apiKey?: string) {
  if (r && typeof r === "object" && r.error) {
    const info = extractUpstreamError(JSON.stringify(r));
    const code = (r.error as { code?: unknown }).code;
    throw new UpstreamError(
      "http",
      scrubSecret(`${label} reported an error: ${info.message ?? "unknown error"}`, apiKey),
      {
        ...(typeof code === "number" ? { status: code } : {}),
        ...(info.code ? { upstreamCode: info.code } : {}),
      },
    );
  }
}

export function createGeminiAdapter(o: { label?: string } = {}): ProviderAdapter {
  const label = o.label ?? "gemini";
  const base = (b: string) => (/\/v1(alpha|beta)?\d*\/?$/.test(b) ? b : joinUrl(b, "v1beta"));
  const modelPath = (m: string) => `models/${encodeURIComponent(m.replace(/^models\//, ""))}`;
  const headers = (t: UpstreamTarget, stream: boolean): Record<string, string> => ({
    ...safeExtraHeaders(t.headers),
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    ...(t.apiKey ? { "x-goog-api-key": t.apiKey } : {}),
  });

  return {
    format: "gemini",
    async chat(req, target, opts): Promise<ChatResult> {
      const stream = req.stream === true;
      const url = joinUrl(
        base(target.baseUrl),
        `${modelPath(target.model)}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
      );
      const call = await postJson({
        url,
        headers: headers(target, stream),
        body: toGeminiRequest(req),
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
          const { text, calls } = partsOf(c);
          return {
            index: c.index ?? i,
            message: {
              role: "assistant",
              content: text || (calls.length ? null : ""),
              ...(calls.length ? { tool_calls: calls } : {}),
              refusal: null,
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
            const { text, calls } = partsOf(c);
            const first = !started.has(index);
            started.add(index);
            if (first || text) yield chunk(index, { ...(first ? { role: "assistant" as const } : {}), content: text });
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
      const url = joinUrl(base(target.baseUrl), `${model}:batchEmbedContents`);
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
