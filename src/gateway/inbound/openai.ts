/**
 * The OpenAI Chat Completions API as an inbound format: the canonical format
 * itself, so requests are only checked (not rebuilt) and answers pass through.
 * Streams end with `[DONE]`, after one usage chunk (`choices: []`, carrying
 * Tollgate's cost extension) when the client asked for it with
 * `stream_options.include_usage`, as OpenAI does.
 */
import { type GatewayError, invalidRequest, openaiErrorBody } from "../errors.js";
import type { InboundFormat, StreamRenderer } from "./format.js";
import { chatCompletionsSchema } from "./openai-schema.js";
import { checkParams } from "./params.js";
import { type ChatRequest, usageToOpenAI } from "../types.js";

/**
 * Checks a chat completions body against the official parameter types (openai-schema.ts) and returns it
 * as the canonical request: the same object (only a missing model is filled in), never zod's copy.
 */
export function checkChatRequest(body: unknown): ChatRequest {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalidRequest("invalid_body", "The body must be a JSON object.");
  checkParams(chatCompletionsSchema, body);
  const b = body as ChatRequest;
  return typeof b.model === "string" ? b : { ...b, model: "" };
}

export const openaiInbound: InboundFormat = {
  toCanonical: checkChatRequest,
  renderResponse: (res) => res,
  streamRenderer(model, _requestId, req): StreamRenderer {
    // OpenAI sends the usage chunk only to a client that asked for it; the cost also goes out as trailers.
    const withUsage = req.stream_options?.include_usage === true;
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
        if (usage && withUsage)
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
