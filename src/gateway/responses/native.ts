/**
 * The Responses API as a native format (inbound/format.ts `NativeFormat`):
 * when the primary target is OpenAI's own API, the request goes as written
 * (native-request.ts) and the answer comes back as OpenAI gave it, through
 * the output policy and with Tollgate's ids (native-output.ts). One per call:
 * it holds the call's stored conversation, and tells the endpoint what to
 * store once the answer is rendered (`answered`).
 */
import type { NativeFormat, NativeStreamer } from "../inbound/format.js";
import type { ChatMessage } from "../types.js";
import {
  applyScan,
  chatOf,
  checkNativeTools,
  type ResponsesNativeView,
  responsesView,
  turnItems,
  upstreamBody,
} from "./native-request.js";
import { type NativeResponseTarget, NativeResponsesStreamer, renderNativeResponse } from "./native-output.js";
import { toChatRequest } from "./request.js";
import type { ResponsesRequest } from "./wire.js";

export interface ResponsesNativeCall {
  body: ResponsesRequest;
  /** The stored conversation as chat messages (scanned, and sent to targets of another API). */
  previous: readonly ChatMessage[];
  /** The same conversation as input items for OpenAI. */
  replayed: readonly unknown[];
  target: Omit<NativeResponseTarget, "model">;
  /** A native answer was rendered: the response to store (encrypted reasoning kept) and the turn's input items. */
  answered(stored: Record<string, unknown>, items: unknown[]): void;
}

export function responsesNative(c: ResponsesNativeCall): NativeFormat {
  let sentItems: unknown[] = [];
  return {
    api: "openai-responses",
    cacheable: false,
    open(body) {
      const req = body as ResponsesRequest;
      let opened: ResponsesNativeView | undefined;
      const view = () => {
        opened ??= responsesView(req, c.previous, c.replayed);
        return opened;
      };
      return {
        model: typeof req.model === "string" ? req.model : "",
        get view() {
          return view().view;
        },
        // Another API serves it: the strict translation (a built-in tool is a 400 naming it).
        translated: () => toChatRequest(req, c.previous),
        finish(scanned) {
          checkNativeTools(req);
          const v = view();
          const sent = applyScan(req, v, scanned);
          sentItems = turnItems(sent);
          return {
            native: { api: "openai-responses", body: upstreamBody(sent, c.replayed), headers: {} },
            canonical: chatOf(sent, c.previous),
            sameFormatOnly: v.lossy,
            input: v.input,
          };
        },
      };
    },
    renderWhole(body, model, scanner) {
      const r = renderNativeResponse(body, { ...c.target, model }, scanner);
      c.answered(r.stored, sentItems);
      return r.client;
    },
    streamer(model, scanner): NativeStreamer {
      const s = new NativeResponsesStreamer({ ...c.target, model }, scanner);
      return {
        event: (e) => s.event(e),
        finish(usage, extra) {
          const frames = s.finish(usage, extra);
          const stored = s.final();
          if (stored) c.answered(stored, sentItems);
          return frames;
        },
        error: (e, requestId) => s.error(e, requestId),
        sent: () => s.sent(),
      };
    },
  };
}
