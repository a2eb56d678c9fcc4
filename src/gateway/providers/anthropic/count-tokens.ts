/**
 * Anthropic's token counting (POST /v1/messages/count_tokens): exact and free.
 * The body is the Messages request without what only generation reads
 * (max_tokens, stream, sampling, stop sequences, metadata) — the client's own
 * request as written when it came in this format (its `anthropic-beta` header
 * passed on), else the canonical request translated as a messages call would
 * be. Same headers as a messages call; the answer must carry an integer
 * `input_tokens`.
 */
import type { ChatRequest } from "../../types.js";
import { postJson } from "../http/index.js";
import { type CallOptions, type NativeRequest, UpstreamError } from "../types.js";
import { ANTHROPIC_CLIENT_HEADERS } from "./native.js";
import { toAnthropicRequest } from "./request.js";

/** Messages parameters the counting endpoint does not take: they shape the answer, not the input. */
const GENERATION_ONLY = [
  "max_tokens",
  "stream",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "metadata",
  "service_tier",
  "output_config",
] as const;

export async function countAnthropicTokens(
  req: ChatRequest,
  model: string,
  native: NativeRequest | undefined,
  request: { url: string; headers: Record<string, string>; apiKey?: string; label: string },
  opts: CallOptions,
): Promise<number> {
  const headers = { ...request.headers };
  const body: Record<string, unknown> = native
    ? { ...native.body, model }
    : { ...(toAnthropicRequest(req, model).body as unknown as Record<string, unknown>) };
  for (const k of GENERATION_ONLY) delete body[k];
  if (native) for (const h of ANTHROPIC_CLIENT_HEADERS) if (native.headers[h]) headers[h] = native.headers[h];
  const call = await postJson({ url: request.url, headers, body, opts, apiKey: request.apiKey, label: request.label });
  const json = (await call.json()) as { input_tokens?: unknown } | null;
  const n = json?.input_tokens;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    throw new UpstreamError("protocol", `${request.label} token count has no input_tokens`);
  return n;
}
