/**
 * Embeddings through InvokeModel (`POST /model/{modelId}/invoke`), in each
 * model family's own body. Invariants:
 * - Amazon Titan (`amazon.titan-embed-…`) embeds one text per call
 *   (`{inputText, dimensions?}` → `{embedding, inputTextTokenCount}`): several
 *   inputs are several calls, at most TITAN_CONCURRENCY at a time, answered in
 *   input order; the first failure aborts the calls still running and is
 *   thrown. Usage is the sum of the token counts Bedrock reported. All the
 *   calls of one request share its total timeout.
 * - Cohere (`cohere.embed-…`) embeds up to COHERE_BATCH texts per call
 *   (`{texts, input_type: "search_document"}` → `{embeddings}`: a list, or
 *   `{float: list}` when the model answers by type); usage is Bedrock's
 *   `X-Amzn-Bedrock-Input-Token-Count` header.
 * - Text only (no token arrays); `dimensions` goes to models that take one
 *   (Titan v2, Cohere v4) and is refused by the others; other models are refused.
 */
import { CallAbort } from "../../abort.js";
import { invalidRequest } from "../../errors.js";
import type { EmbeddingsRequest } from "../../types.js";
import { UpstreamError, type CallOptions, type EmbeddingsResult, type UpstreamTarget } from "../types.js";
import { bedrockPost } from "./call.js";
import { modelUrl, type BedrockSettings } from "./settings.js";

export const TITAN_CONCURRENCY = 4;
export const COHERE_BATCH = 96;

interface Ctx {
  /** performance.now() by which every call of the request is done (the caller's total timeout). */
  deadline: number;
  target: UpstreamTarget;
  settings: BedrockSettings;
  opts: CallOptions;
  label: string;
  now?: () => Date;
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/** One invoke call (within what is left of the whole request's time): the JSON answer and Bedrock's token count. */
async function invoke(ctx: Ctx, body: unknown, opts: CallOptions): Promise<{ json: unknown; tokens: number }> {
  const left = Math.max(1, Math.floor(ctx.deadline - performance.now()));
  const call = await bedrockPost({
    url: modelUrl(ctx.target, "invoke"),
    body,
    settings: ctx.settings,
    opts: { ...opts, timeouts: { ...opts.timeouts, totalMs: Math.min(opts.timeouts.totalMs, left) } },
    label: ctx.label,
    ...(ctx.now ? { now: ctx.now } : {}),
  });
  const h = call.headers["x-amzn-bedrock-input-token-count"];
  const tokens = count(Number(Array.isArray(h) ? h[0] : h));
  return { json: await call.json(), tokens };
}

async function titan(ctx: Ctx, inputs: string[], dimensions: number | undefined) {
  const vectors: number[][] = new Array(inputs.length);
  let tokens = 0;
  let next = 0;
  // A local abort, tied to the caller's signal, stops the sibling calls once one failed.
  const local = new CallAbort();
  const onAbort = () => local.abort();
  ctx.opts.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.opts.signal.aborted) local.abort();
  const opts: CallOptions = { ...ctx.opts, signal: local.signal };
  let first: unknown;
  const worker = async () => {
    while (next < inputs.length && !local.aborted) {
      const i = next++;
      const r = await invoke(ctx, { inputText: inputs[i], ...(dimensions ? { dimensions } : {}) }, opts);
      const j = r.json as { embedding?: unknown; inputTextTokenCount?: unknown } | null;
      if (!isVector(j?.embedding)) throw new UpstreamError("protocol", `${ctx.label} embedding answer has no vector`);
      vectors[i] = j.embedding;
      tokens += count(j.inputTextTokenCount) || r.tokens;
    }
  };
  const workers = Array.from({ length: Math.min(TITAN_CONCURRENCY, inputs.length) }, () =>
    worker().catch((err: unknown) => {
      first ??= err;
      local.abort();
    }),
  );
  try {
    await Promise.all(workers);
  } finally {
    ctx.opts.signal.removeEventListener("abort", onAbort);
  }
  if (first !== undefined) throw first;
  if (local.aborted) throw new UpstreamError("aborted", `${ctx.label} request aborted by the caller`);
  return { vectors, tokens };
}

async function cohere(ctx: Ctx, inputs: string[], dimensions: number | undefined) {
  const vectors: number[][] = [];
  let tokens = 0;
  for (let at = 0; at < inputs.length; at += COHERE_BATCH) {
    const texts = inputs.slice(at, at + COHERE_BATCH);
    const body = { texts, input_type: "search_document", ...(dimensions ? { output_dimension: dimensions } : {}) };
    const r = await invoke(ctx, body, ctx.opts);
    const e = (r.json as { embeddings?: unknown } | null)?.embeddings;
    const list = Array.isArray(e) ? e : (e as { float?: unknown } | undefined)?.float;
    if (!Array.isArray(list) || list.length !== texts.length || !list.every(isVector))
      throw new UpstreamError("protocol", `${ctx.label} embeddings answer does not match the input`);
    vectors.push(...list);
    tokens += r.tokens;
  }
  return { vectors, tokens };
}

export async function bedrockEmbeddings(req: EmbeddingsRequest, c: Omit<Ctx, "deadline">): Promise<EmbeddingsResult> {
  const ctx: Ctx = { ...c, deadline: performance.now() + c.opts.timeouts.totalMs };
  const inputs = typeof req.input === "string" ? [req.input] : req.input;
  if (!inputs.length || !inputs.every((x): x is string => typeof x === "string"))
    throw invalidRequest("unsupported_input", "This provider embeds text only (no token arrays).", "input");
  const model = ctx.target.model;
  const isTitan = /(^|\.)amazon\.titan-embed/.test(model);
  const isCohere = /(^|\.)cohere\.embed/.test(model);
  if (!isTitan && !isCohere)
    throw invalidRequest(
      "unsupported_model",
      "Embeddings through Bedrock are offered for Amazon Titan and Cohere embedding models only.",
      "model",
    );
  const takesDimensions = isTitan ? /titan-embed-text-v2/.test(model) : /embed-v4/.test(model);
  if (req.dimensions != null && !takesDimensions)
    throw invalidRequest("unsupported_parameter", "This model does not take `dimensions`.", "dimensions");
  const dims = req.dimensions ?? undefined;
  const { vectors, tokens } = isTitan ? await titan(ctx, inputs, dims) : await cohere(ctx, inputs, dims);
  return {
    response: {
      object: "list",
      data: vectors.map((v, index) => ({
        object: "embedding",
        index,
        embedding: req.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
      })),
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    usage: { inputTokens: tokens, cachedInputTokens: 0, outputTokens: 0 },
  };
}
