/**
 * Server-sent events of an upstream response body, and their JSON payloads.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { UpstreamError } from "../types.js";
import type { UpstreamCall } from "./transport.js";

/** Server-sent events of a response body. Bounded line buffer; a parse failure is a protocol error. */
export async function* sseEvents(
  call: UpstreamCall,
  label: string,
): AsyncGenerator<EventSourceMessage, void, undefined> {
  const queue: EventSourceMessage[] = [];
  let parseError: string | undefined;
  const parser = createParser({
    maxBufferSize: 16 * 1024 * 1024,
    onEvent: (e) => queue.push(e),
    onError: (e) => {
      if (e.type === "max-buffer-size-exceeded") parseError = e.message;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of call.chunks()) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (parseError) throw new UpstreamError("protocol", `${label} stream: ${parseError}`);
    while (queue.length) yield queue.shift()!;
  }
  parser.feed(decoder.decode());
  parser.reset({ consume: true });
  while (queue.length) yield queue.shift()!;
}

export function parseEventJson(data: string, label: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new UpstreamError("protocol", `${label} stream carried an event that is not JSON`);
  }
}
