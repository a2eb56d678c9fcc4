/**
 * Vertex AI's text embeddings (Google's `text-embedding-…`, `gemini-embedding-…`
 * and other embedding models): POST …/publishers/google/models/{model}:predict
 * with `instances: [{content}]`, answered with `predictions[].embeddings.values`.
 * Invariants:
 * - Text only (no token arrays); `dimensions` becomes `outputDimensionality`.
 * - Usage is the tokens Vertex counted (`statistics.token_count` of each
 *   prediction); without them it is estimated, and flagged.
 * - The answer must have one prediction per input, else it is a protocol error.
 */
import type { EmbeddingsRequest } from "../../types.js";
import { postJson, safeExtraHeaders } from "../http/index.js";
import { type CallOptions, type EmbeddingsResult, UpstreamError, type UpstreamTarget } from "../types.js";

interface PredictResponse {
  predictions?: Array<{ embeddings?: { values?: unknown; statistics?: { token_count?: unknown } } }>;
}

/** `target.apiKey` is the access token; `url` the model's :predict URL. */
export async function vertexEmbeddings(
  req: EmbeddingsRequest,
  target: UpstreamTarget,
  url: string,
  opts: CallOptions,
  label: string,
): Promise<EmbeddingsResult> {
  const inputs = typeof req.input === "string" ? [req.input] : req.input;
  if (!inputs.every((x): x is string => typeof x === "string"))
    throw new UpstreamError("http", `${label} embeds text only (no token arrays)`, { status: 400, retryable: false });
  const body = {
    instances: inputs.map((content) => ({ content })),
    ...(req.dimensions ? { parameters: { outputDimensionality: req.dimensions } } : {}),
  };
  const call = await postJson({
    url,
    headers: {
      ...safeExtraHeaders(target.headers),
      "content-type": "application/json",
      accept: "application/json",
      ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}),
    },
    body,
    opts,
    apiKey: target.apiKey,
    label,
  });
  const r = (await call.json()) as PredictResponse | null;
  const predictions = r?.predictions;
  if (!Array.isArray(predictions) || predictions.length !== inputs.length)
    throw new UpstreamError("protocol", `${label} embeddings response does not match the input`);
  const vectors = predictions.map((p) => p?.embeddings?.values);
  if (!vectors.every((v): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number")))
    throw new UpstreamError("protocol", `${label} embeddings response has no values`);
  const counts = predictions.map((p) => p.embeddings?.statistics?.token_count);
  const counted = counts.every((c): c is number => typeof c === "number" && Number.isInteger(c) && c >= 0);
  const tokens = counted ? counts.reduce((s, c) => s + c, 0) : inputs.reduce((s, t) => s + Math.ceil(t.length / 4), 0);
  return {
    response: {
      object: "list",
      data: vectors.map((values, index) => ({
        object: "embedding",
        index,
        embedding:
          req.encoding_format === "base64" ? Buffer.from(new Float32Array(values).buffer).toString("base64") : values,
      })),
      model: target.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    usage: { inputTokens: tokens, cachedInputTokens: 0, outputTokens: 0, ...(counted ? {} : { estimated: true }) },
  };
}
