/**
 * Server-sent events of an upstream response body, and their JSON payloads.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { UpstreamError } from "../types.js";
import type { UpstreamCall } from "./transport.js";

/**
 * Server-sent events of a response body, a batch per network read: the events of one read are handled in one
 * pass (a generator step per event and layer cost promises per event). Bounded line buffer; a parse failure is
 * a protocol error.
 */
export async function* sseBatches(
  call: UpstreamCall,
  label: string,
): AsyncGenerator<EventSourceMessage[], void, undefined> {
  let batch: EventSourceMessage[] = [];
  let parseError: string | undefined;
  const parser = createParser({
    maxBufferSize: 16 * 1024 * 1024,
    onEvent: (e) => batch.push(e),
    onError: (e) => {
      if (e.type === "max-buffer-size-exceeded") parseError = e.message;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of call.chunks()) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (parseError) throw new UpstreamError("protocol", `${label} stream: ${parseError}`);
    if (batch.length) {
      const out = batch;
      batch = [];
      yield out;
    }
  }
  parser.feed(decoder.decode());
  parser.reset({ consume: true });
  if (batch.length) yield batch;
}

/** Server-sent events of a response body, one by one (for streams where a step per event does not matter). */
export async function* sseEvents(
  call: UpstreamCall,
  label: string,
): AsyncGenerator<EventSourceMessage, void, undefined> {
  for await (const batch of sseBatches(call, label)) yield* batch;
}

export function parseEventJson(data: string, label: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new UpstreamError("protocol", `${label} stream carried an event that is not JSON`);
  }
}
