/**
 * The Anthropic Messages API as an inbound format (/v1/messages), for any
 * provider: requests are translated to the canonical format, answers and
 * streams back to Anthropic's shapes (formats/anthropic-inbound.ts). The cost
 * extension rides on the final `message_delta` event.
 */
import { anthropicErrorBody, type GatewayError, invalidRequest } from "../errors.js";
import {
  AnthropicStreamTranslator,
  anthropicToCanonical,
  canonicalToAnthropicResponse,
} from "../formats/anthropic-inbound.js";
import type { AnthropicRequest } from "../formats/anthropic-wire.js";
import type { InboundFormat, StreamRenderer } from "./format.js";
import { usageFromOpenAI } from "../types.js";

function checkMessagesRequest(body: unknown): AnthropicRequest {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalidRequest("invalid_body", "The body must be a JSON object.");
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" && b.model !== undefined)
    throw invalidRequest("invalid_model", "`model` must be a string.", "model");
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw invalidRequest("invalid_messages", "`messages` must be a non-empty array.", "messages");
  for (const [i, m] of b.messages.entries()) {
    const role = (m as { role?: unknown } | null)?.role;
    if (role !== "user" && role !== "assistant")
      throw invalidRequest("invalid_messages", `messages[${i}].role must be user or assistant.`, `messages[${i}].role`);
  }
  if (
    b.max_tokens !== undefined &&
    (typeof b.max_tokens !== "number" || !Number.isInteger(b.max_tokens) || b.max_tokens < 1)
  ) {
    throw invalidRequest("invalid_max_tokens", "`max_tokens` must be a positive integer.", "max_tokens");
  }
  return b as unknown as AnthropicRequest;
}

export const anthropicInbound: InboundFormat = {
  toCanonical: (body) => {
    const req = anthropicToCanonical(checkMessagesRequest(body));
    return { ...req, model: req.model ?? "" };
  },
  renderResponse: (res, model) => canonicalToAnthropicResponse(res, usageFromOpenAI(res.usage), model),
  streamRenderer(model, requestId): StreamRenderer {
    const t = new AnthropicStreamTranslator(`msg_${requestId.replace(/-/g, "")}`, model);
    return {
      chunk: (c) => t.push(c).map((e) => ({ event: e.type, data: e })),
      finish(usage, extra) {
        return t.finish(usage).map((e) => ({
          event: e.type,
          data: e.type === "message_delta" && Object.keys(extra).length ? { ...e, tollgate: extra } : e,
        }));
      },
      error(e: GatewayError, id: string) {
        const body = anthropicErrorBody(e, id);
        return t.error(body.error.type, e.message).map((ev) => ({ event: ev.type, data: { ...ev, request_id: id } }));
      },
    };
  },
  errorBody: anthropicErrorBody,
};
