/**
 * The shared HTTP layer of the wire adapters: one transport (postJson), the
 * error classification, server-sent events and request helpers. Every HTTP
 * adapter uses it, so organizations' custom providers (which pick the
 * openai, anthropic or gemini format) go through exactly the same machinery.
 */
export { postJson } from "./transport.js";
export { extractUpstreamError, httpError, parseRetryAfter, scrubSecret } from "./errors.js";
export { parseEventJson, sseBatches, sseEvents } from "./sse.js";
export { joinUrl, newId, safeExtraHeaders } from "./wire.js";
