/**
 * OpenAI ⇄ OpenAI Responses: the client's Responses request, as the caller
 * prepared it, sent to `POST {baseUrl}/responses` with only the model id set;
 * the answer returned as the API gave it — a whole response object, or its
 * events parsed one by one. Invariants:
 * - The body is never edited beyond `model` (the caller owns every field).
 * - A whole answer must be `object: "response"` with an `output` array; one
 *   with `status: "failed"` is an UpstreamError classified by its error code.
 * - A stream ends with `response.completed` or `response.incomplete` (yielded,
 *   then the iterator stops); `response.failed` and `error` events, and a close
 *   before a terminal event, are UpstreamErrors. Messages never carry the key.
 * - Usage is read from the terminal response: tokens, cached and reasoning
 *   parts, and the billed tool calls found in `output` (web and file searches).
 */
import type { Usage } from "../../types.js";
import { parseEventJson, postJson, scrubSecret, sseEvents } from "../http/index.js";
import {
  type CallOptions,
  type ChatResult,
  type NativeEvent,
  type NativeRequest,
  type NativeUpstream,
  UpstreamError,
} from "../types.js";
import { streamError } from "./errors.js";

/** Responses error codes (a failed response's `error.code`, an `error` event's `code`) → HTTP status. */
const CODE_STATUS: Record<string, number> = {
  server_error: 500,
  rate_limit_exceeded: 429,
  insufficient_quota: 429,
  vector_store_timeout: 504,
  invalid_prompt: 400,
  context_length_exceeded: 400,
  invalid_request_error: 400,
  data_residency_mismatch: 400,
  bio_policy: 400,
  invalid_api_key: 401,
  not_found: 404,
};

/** Image input errors all name a bad request (invalid_image, image_too_large, failed_to_download_image…). */
const statusOfCode = (code: string): number => CODE_STATUS[code] ?? (/image/.test(code) ? 400 : 500);

/** The UpstreamError of a failed response's `error` or of an `error` event (its code decides the status). */
export function responsesError(
  error: { code?: unknown; message?: unknown } | null | undefined,
  label: string,
  apiKey?: string,
): UpstreamError {
  const code = typeof error?.code === "string" && error.code ? error.code : "server_error";
  const message = typeof error?.message === "string" && error.message ? error.message : code;
  return new UpstreamError("http", scrubSecret(`${label} response failed: ${message}`, apiKey), {
    status: statusOfCode(code),
    upstreamCode: scrubSecret(code, apiKey).slice(0, 100),
  });
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

interface ResponsesUsage {
  input_tokens?: unknown;
  input_tokens_details?: { cached_tokens?: unknown } | null;
  output_tokens?: unknown;
  output_tokens_details?: { reasoning_tokens?: unknown } | null;
}

interface OutputItem {
  type?: unknown;
  status?: unknown;
  action?: { type?: unknown } | null;
}

/**
 * A web_search_call OpenAI bills: its action is a search (opening or searching within a page is free);
 * an item reported without an action counts once it completed.
 */
function isBilledWebSearch(item: OutputItem): boolean {
  if (item.type !== "web_search_call") return false;
  if (item.action && typeof item.action === "object") return item.action.type === "search";
  return item.status === "completed";
}

/** Canonical usage of a Responses `response` object; undefined when it reports no usage. */
export function usageFromResponses(response: { usage?: unknown; output?: unknown }): Usage | undefined {
  const u = response.usage as ResponsesUsage | null | undefined;
  if (!u || typeof u !== "object") return undefined;
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  const usage: Usage = {
    inputTokens: input,
    cachedInputTokens: Math.min(count(u.input_tokens_details?.cached_tokens), input),
    outputTokens: output,
  };
  const reasoning = Math.min(count(u.output_tokens_details?.reasoning_tokens), output);
  if (reasoning) usage.reasoningTokens = reasoning;
  const items = (Array.isArray(response.output) ? response.output : []) as Array<OutputItem | null>;
  let web = 0;
  let file = 0;
  for (const item of items) {
    if (!item || typeof item !== "object") continue;
    if (isBilledWebSearch(item)) web++;
    else if (item.type === "file_search_call") file++;
  }
  if (web) usage.webSearches = web;
  if (file) usage.fileSearches = file;
  return usage;
}

/** A whole answer: a response object, or the UpstreamError it reports. */
function wholeResponse(json: unknown, label: string, apiKey?: string): Record<string, unknown> {
  const r = (json && typeof json === "object" ? json : {}) as Record<string, unknown>;
  if (r.error && r.object !== "response") throw streamError(r, label, apiKey);
  if (r.object !== "response" || !Array.isArray(r.output))
    throw new UpstreamError("protocol", `${label} response is not a Responses object`);
  if (r.status === "failed") throw responsesError(r.error as never, label, apiKey);
  return r;
}

export async function nativeResponses(
  native: NativeRequest,
  model: string,
  request: NativeUpstream,
  opts: CallOptions,
): Promise<ChatResult> {
  const body: Record<string, unknown> = { ...native.body, model };
  const stream = body.stream === true;
  const { label, apiKey } = request;
  const call = await postJson({ url: request.url, headers: request.headers(stream), body, opts, apiKey, label });
  if (!stream) {
    const json = wholeResponse(await call.json(), label, apiKey);
    return { kind: "native", body: json, usage: usageFromResponses(json) };
  }
  let usage: Usage | undefined;
  async function* events(): AsyncGenerator<NativeEvent, void, undefined> {
    let ended = false;
    for await (const ev of sseEvents(call, label)) {
      if (ev.data === "[DONE]") break;
      const e = parseEventJson(ev.data, label) as NativeEvent | null;
      if (!e || typeof e.type !== "string") continue;
      if (e.type === "error") throw responsesError((e.error ?? e) as never, label, apiKey);
      const response = (e.response ?? {}) as { usage?: unknown; output?: unknown; error?: unknown };
      if (e.type === "response.failed") throw responsesError(response.error as never, label, apiKey);
      if (e.type === "response.completed" || e.type === "response.incomplete") {
        usage = usageFromResponses(response);
        ended = true;
      }
      yield e;
      if (ended) break;
    }
    if (!ended) throw new UpstreamError("protocol", `${label} stream ended before the response completed`);
  }
  return { kind: "native_stream", stream: events(), usage: () => usage };
}
