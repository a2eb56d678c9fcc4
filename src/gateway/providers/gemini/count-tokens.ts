/**
 * Gemini's token counting (POST …/models/{model}:countTokens): exact and free.
 * The request is the one generateContent would get (request.ts: contents,
 * system instruction, tools), wrapped in `generateContentRequest` so the
 * system instruction and tools are counted too; generation settings are left
 * out (they do not change the input). The answer is `totalTokens`.
 */
import type { ChatRequest } from "../../types.js";
import { postJson } from "../http/index.js";
import { type CallOptions, UpstreamError } from "../types.js";
import { checkError } from "./errors.js";
import { toGeminiRequest } from "./request.js";
import type { GenResponse } from "./response.js";

export async function countGeminiTokens(
  req: ChatRequest,
  /** `models/{id}`, path-encoded. */
  modelPath: string,
  request: { url: string; headers: Record<string, string>; apiKey?: string; label: string },
  opts: CallOptions,
): Promise<number> {
  const { generationConfig: _, ...generate } = toGeminiRequest(req);
  const body = { generateContentRequest: { model: decodeURIComponent(modelPath), ...generate } };
  const call = await postJson({ ...request, body, opts });
  const json = (await call.json()) as { totalTokens?: unknown } | null;
  checkError(json as GenResponse, request.label, request.apiKey);
  const n = json?.totalTokens;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    throw new UpstreamError("protocol", `${request.label} token count has no totalTokens`);
  return n;
}
