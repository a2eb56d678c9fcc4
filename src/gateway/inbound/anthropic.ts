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
import { messagesSchema } from "./anthropic-schema.js";
import { createAnthropicNative } from "./anthropic-native.js";
import type { InboundFormat, StreamRenderer } from "./format.js";
import { checkParams } from "./params.js";
import { usageFromOpenAI } from "../types.js";

/** Checks a Messages body against the official parameter types (anthropic-schema.ts); the body itself goes on. */
function checkMessagesRequest(body: unknown): AnthropicRequest {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalidRequest("invalid_body", "The body must be a JSON object.");
  checkParams(messagesSchema, body);
  return body as AnthropicRequest;
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
  // Requests to Anthropic-format providers go as written (anthropic-native.ts).
  native: createAnthropicNative(checkMessagesRequest),
};
