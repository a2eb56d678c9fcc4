/**
 * A native OpenAI Responses answer (OpenAI's own /v1/responses served the
 * request) as the client receives it, and as Tollgate stores it: OpenAI's
 * response object with Tollgate's response id, the target's name and the
 * client's own `store` / `previous_response_id` / `max_tool_calls`, the
 * output policy applied to every scanned slot (message text and refusals,
 * reasoning summaries and text, function arguments — still valid JSON —
 * and custom tool input), and a reasoning item's encrypted content removed
 * unless the client asked for it (the stored object keeps it). The usage is
 * OpenAI's, as reported. Streams: native-stream.ts.
 */
import type { OutputScanner } from "../hooks.js";
import {
  clientResponse,
  type Json,
  mapItemTexts,
  type NativeResponseTarget,
  type Slot,
  scanWhole,
  withTollgateFields,
} from "./native-items.js";

export type { NativeResponseTarget } from "./native-items.js";
export { NativeResponsesStreamer } from "./native-stream.js";

/**
 * A whole response as the client receives it, the object to store (encrypted reasoning kept), and the
 * answer's text as sent (message text and tool input, for the log and an estimate). Without a scanner the
 * output is OpenAI's, untouched.
 */
export function renderNativeResponse(
  body: Record<string, unknown>,
  t: NativeResponseTarget,
  scanner: OutputScanner | undefined,
): { client: Record<string, unknown>; stored: Record<string, unknown>; text: string } {
  let text = "";
  const scan = (slot: Slot, v: string): string => {
    const out = scanner ? scanWhole(scanner, slot, v) : v;
    if (slot.answer) text += out;
    return out;
  };
  const output = Array.isArray(body.output) ? body.output : [];
  let changed = false;
  const scanned = output.map((item, i) => {
    const out = mapItemTexts(item, i, scan);
    if (out !== item) changed = true;
    return out;
  });
  const stored: Json = withTollgateFields(body, t, changed ? scanned : undefined);
  return { client: clientResponse(stored, t), stored, text };
}
