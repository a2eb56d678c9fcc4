/**
 * The `vertex` wire format: Google Vertex AI serves each publisher's models in
 * that publisher's own wire format, under one address scheme and one auth.
 * Invariants:
 * - A model's publisher is its name's: `claude-…` is Anthropic's, every other
 *   name Google's (`gemini-…`, embedding models). Requests go to
 *   `{base}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}`:
 *   Google's models through the Gemini adapter (generateContent,
 *   streamGenerateContent?alt=sse), Anthropic's through the Anthropic adapter
 *   (rawPredict, streamRawPredict; Messages with `anthropic_version:
 *   "vertex-2023-10-16"` in the body and no model field); embeddings of
 *   Google's models through :predict (embeddings.ts).
 * - Every request carries `Authorization: Bearer <access token>`, the token of
 *   the target's service account key (auth.ts); the token, never the key, is
 *   what error messages are scrubbed of.
 * - Errors are both publishers' Google API errors (`{error:{code,message,status}}`),
 *   classified by status as every HTTP adapter's; a key the token endpoint
 *   refuses is the upstream auth error (401).
 * - Chat and embeddings only (no native Messages, no token counting endpoint:
 *   counts are estimated); Anthropic's models do not embed.
 */
import { createAnthropicAdapter } from "../anthropic/index.js";
import { createGeminiAdapter } from "../gemini/index.js";
import { joinUrl } from "../http/index.js";
import { type CallOptions, type ProviderAdapter, UpstreamError, type UpstreamTarget } from "../types.js";
import { createVertexTokens } from "./auth.js";
import { vertexEmbeddings } from "./embeddings.js";

const LABEL = "vertex";
/** The Messages API version Vertex AI takes, in the body. */
export const VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16";

/** The publisher of a model on Vertex AI, by its name. */
export const vertexPublisher = (model: string): "anthropic" | "google" =>
  /^claude-/.test(model) ? "anthropic" : "google";

/** The URL of a model method on the target's project and location. */
function modelUrl(target: UpstreamTarget, method: string): string {
  const v = target.vertex;
  if (!v) throw new UpstreamError("protocol", `${LABEL}: the provider has no project and location`);
  const path = [
    "v1/projects",
    encodeURIComponent(v.project),
    "locations",
    encodeURIComponent(v.location),
    "publishers",
    vertexPublisher(target.model),
    "models",
    `${encodeURIComponent(target.model)}:${method}`,
  ].join("/");
  return joinUrl(target.baseUrl, path);
}

export function createVertexAdapter(): ProviderAdapter {
  const tokens = createVertexTokens(LABEL);
  const gemini = createGeminiAdapter({ label: LABEL, auth: "bearer", url: modelUrl });
  const claude = createAnthropicAdapter({
    label: LABEL,
    auth: "bearer",
    bodyVersion: VERTEX_ANTHROPIC_VERSION,
    url: (target, stream) => modelUrl(target, stream ? "streamRawPredict" : "rawPredict"),
  });

  /** The target with its access token in place of the service account key. */
  async function authorized(target: UpstreamTarget, opts: CallOptions): Promise<UpstreamTarget> {
    if (!target.apiKey)
      throw new UpstreamError("http", `${LABEL}: the provider has no service account key`, {
        status: 401,
        retryable: false,
      });
    const token = await tokens.accessToken(target.apiKey, target.vertex?.tokenUrl, opts);
    return { ...target, apiKey: token };
  }

  return {
    format: "vertex",
    // Never a native request: the executor sends one only to a provider that speaks it (catalog.speaksNatively).
    async chat(req, target, opts) {
      const upstream = await authorized(target, opts);
      return vertexPublisher(target.model) === "anthropic"
        ? claude.chat(req, upstream, opts)
        : gemini.chat(req, upstream, opts);
    },
    async embeddings(req, target, opts) {
      if (vertexPublisher(target.model) !== "google")
        throw new UpstreamError("http", `${LABEL}: Anthropic's models on Vertex AI do not embed`, {
          status: 400,
          retryable: false,
        });
      const upstream = await authorized(target, opts);
      return vertexEmbeddings(req, upstream, modelUrl(target, "predict"), opts, LABEL);
    },
  };
}
