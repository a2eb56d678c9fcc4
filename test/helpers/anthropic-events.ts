/** Test helper: an Anthropic Messages event stream checked against the API's streaming grammar. */
import { expect } from "vitest";
import type { AnthropicEvent } from "../../src/gateway/formats/anthropic-inbound.js";

/** Checks an event list against the Messages streaming grammar. */
export function assertValidSequence(events: AnthropicEvent[]) {
  expect(events[0]!.type).toBe("message_start");
  expect(events[events.length - 1]!.type).toBe("message_stop");
  expect(events[events.length - 2]!.type).toBe("message_delta");
  let open: { index: number; type: string } | undefined;
  let next = 0;
  for (const e of events.slice(1, -2)) {
    if (e.type === "content_block_start") {
      expect(open).toBeUndefined();
      expect(e.index).toBe(next++);
      open = { index: e.index as number, type: (e.content_block as { type: string }).type };
    } else if (e.type === "content_block_delta") {
      expect(open?.index).toBe(e.index);
      const d = e.delta as { type: string };
      const allowed: Record<string, string[]> = {
        text: ["text_delta"],
        tool_use: ["input_json_delta"],
        thinking: ["thinking_delta", "signature_delta"],
      };
      expect(allowed[open!.type]).toContain(d.type);
    } else if (e.type === "content_block_stop") {
      expect(open?.index).toBe(e.index);
      open = undefined;
    } else throw new Error(`unexpected event ${e.type}`);
  }
  expect(open).toBeUndefined();
}
