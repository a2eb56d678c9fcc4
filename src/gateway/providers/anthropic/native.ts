/**
 * Anthropic ⇄ Anthropic: the client's Messages request sent as it was written
 * (only the model id set, the client's `anthropic-beta` header passed on), the
 * answer returned as the API gave it — a whole message, or its events parsed
 * one by one. Usage is read on the way for metering. A stream must end with
 * message_stop; an `error` event or a close before it is an UpstreamError.
 */
import type { Usage } from "../../types.js";
import { parseEventJson, postJson, sseEvents } from "../http/index.js";
import {
  type CallOptions,
  type ChatResult,
  type NativeEvent,
  type NativeRequest,
  type NativeUpstream,
  UpstreamError,
} from "../types.js";
import { streamErrorEvent } from "./errors.js";
import { type AnthropicUsage, mergeAnthropicUsage, usageFromAnthropic } from "./usage.js";

/** The client headers an Anthropic upstream reads besides the body. */
export const ANTHROPIC_CLIENT_HEADERS = ["anthropic-beta"] as const;

export async function nativeMessages(
  native: NativeRequest,
  model: string,
  request: NativeUpstream,
  opts: CallOptions,
): Promise<ChatResult> {
  const body: Record<string, unknown> = { ...native.body, model };
  const stream = body.stream === true;
  const headers = request.headers(stream);
  for (const h of ANTHROPIC_CLIENT_HEADERS) if (native.headers[h]) headers[h] = native.headers[h];
  const call = await postJson({ url: request.url, headers, body, opts, apiKey: request.apiKey, label: request.label });
  const label = request.label;
  if (!stream) {
    const json = (await call.json()) as Record<string, unknown> | null;
    if (json?.type !== "message" || !Array.isArray(json.content))
      throw new UpstreamError("protocol", `${label} response is not a message`);
    return { kind: "native", body: json, usage: usageFromAnthropic(json.usage as AnthropicUsage) };
  }
  let raw: AnthropicUsage = {};
  let usage: Usage | undefined;
  async function* events(): AsyncGenerator<NativeEvent, void, undefined> {
    let stopped = false;
    for await (const ev of sseEvents(call, label)) {
      const e = parseEventJson(ev.data, label) as NativeEvent | null;
      if (!e || typeof e.type !== "string") continue;
      if (e.type === "error") throw streamErrorEvent(e.error as never, label, request.apiKey);
      if (e.type === "message_start") {
        raw = mergeAnthropicUsage({}, (e.message as { usage?: unknown } | undefined)?.usage);
        usage = usageFromAnthropic(raw);
      } else if (e.type === "message_delta") {
        raw = mergeAnthropicUsage(raw, e.usage);
        usage = usageFromAnthropic(raw);
      }
      yield e;
      if (e.type === "message_stop") {
        stopped = true;
        break;
      }
    }
    if (!stopped) throw new UpstreamError("protocol", `${label} stream ended before message_stop`);
  }
  return { kind: "native_stream", stream: events(), usage: () => usage };
}
