/**
 * The OpenAI Chat Completions API as an inbound format: the canonical format
 * itself, so requests are only checked (not rebuilt) and answers pass through.
 * Streams end with one usage chunk (`choices: []`, OpenAI's include_usage
 * shape) carrying Tollgate's cost extension, then `[DONE]`.
 */
import { type GatewayError, invalidRequest, openaiErrorBody } from "../errors.js";
import type { InboundFormat, StreamRenderer } from "./format.js";
import { type ChatRequest, usageToOpenAI } from "../types.js";

/** The most choices (`n`) one request may ask for. */
export const MAX_CHOICES = 128;

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

export function checkChatRequest(body: unknown): ChatRequest {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalidRequest("invalid_body", "The body must be a JSON object.");
  const b = body as Record<string, unknown>;
  if (b.model !== undefined && typeof b.model !== "string")
    throw invalidRequest("invalid_model", "`model` must be a string.", "model");
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw invalidRequest("invalid_messages", "`messages` must be a non-empty array.", "messages");
  for (const [i, m] of b.messages.entries()) {
    if (!m || typeof m !== "object" || !ROLES.has((m as { role?: string }).role ?? "")) {
      throw invalidRequest(
        "invalid_messages",
        `messages[${i}] needs a role of system, developer, user, assistant or tool.`,
        `messages[${i}].role`,
      );
    }
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== "boolean")
    throw invalidRequest("invalid_stream", "`stream` must be a boolean.", "stream");
  for (const k of ["max_tokens", "max_completion_tokens", "n"] as const) {
    const v = b[k];
    if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isInteger(v) || v < 1))
      throw invalidRequest(`invalid_${k}`, `\`${k}\` must be a positive integer.`, k);
  }
  // OpenAI's own limit; each choice may use the whole output limit, and the credit hold counts every one.
  if (typeof b.n === "number" && b.n > MAX_CHOICES)
    throw invalidRequest("invalid_n", `\`n\` must be at most ${MAX_CHOICES}.`, "n");
  return { ...(b as unknown as ChatRequest), model: (b.model as string | undefined) ?? "" };
}

export const openaiInbound: InboundFormat = {
  toCanonical: checkChatRequest,
  renderResponse: (res) => res,
  streamRenderer(model): StreamRenderer {
    let id = "chatcmpl-tollgate";
    let created = Math.floor(Date.now() / 1000);
    return {
      chunk(c) {
        id = c.id || id;
        created = c.created || created;
        return [{ data: c }];
      },
      finish(usage, extra) {
        const frames: Array<{ data: unknown } | { raw: string }> = [];
        if (usage)
          frames.push({
            data: {
              id,
              object: "chat.completion.chunk",
              created,
              model,
              choices: [],
              usage: usageToOpenAI(usage),
              ...(Object.keys(extra).length ? { tollgate: extra } : {}),
            },
          });
        frames.push({ raw: "data: [DONE]\n\n" });
        return frames;
      },
      error(e: GatewayError, requestId: string) {
        return [{ data: openaiErrorBody(e, requestId) }, { raw: "data: [DONE]\n\n" }];
      },
    };
  },
  errorBody: openaiErrorBody,
};
