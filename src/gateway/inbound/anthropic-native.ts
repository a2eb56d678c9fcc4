/**
 * /v1/messages to an Anthropic-format upstream, as written (see
 * formats/anthropic-native.ts for the request): the answer goes back as the
 * API gave it — thinking blocks and their signatures, citations, server tool
 * blocks, stop details — with the output policy applied to what it covers:
 * each text block (held back and released within its own block, so text
 * never moves to another block) and each tool_use input (still valid JSON).
 * The closing `message_delta` carries Tollgate's cost extension, as on the
 * translated path.
 */
import type { IncomingHttpHeaders } from "node:http";
import { anthropicErrorBody } from "../errors.js";
import { anthropicToCanonical, anthropicToCanonicalLenient } from "../formats/anthropic-inbound.js";
import { nativeView } from "../formats/anthropic-native.js";
import type { OutputScanner } from "../hooks.js";
import type { NativeEvent } from "../providers/types.js";
import { ANTHROPIC_CLIENT_HEADERS } from "../providers/anthropic/native.js";
import type { SseFrame } from "../sse.js";
import { DEFAULT_SERVER_TOOL_CALLS, inputBound } from "../tokens.js";
import type { NativeFormat, NativeStreamer } from "./format.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

export function createAnthropicNative(check: (body: unknown) => Parameters<typeof nativeView>[0]): NativeFormat {
  return {
    api: "anthropic-messages",
    cacheable: true,
    open(body: unknown, headers: IncomingHttpHeaders) {
      const req = check(body);
      // The scan view is built only for same-format traffic (finish); other targets take the translation.
      let opened: ReturnType<typeof nativeView> | undefined;
      const view = () => {
        opened ??= nativeView(req);
        return opened;
      };
      return {
        model: typeof req.model === "string" ? req.model : "",
        get view() {
          return view().view;
        },
        translated: () => {
          const canonical = anthropicToCanonical(req);
          return { ...canonical, model: canonical.model ?? "" };
        },
        finish(scanned) {
          const { apply, extra } = view();
          const sent = apply(scanned, DEFAULT_SERVER_TOOL_CALLS);
          const { req: canonical, lossy } = anthropicToCanonicalLenient(sent);
          const bound = inputBound(canonical);
          const calls = extra.serverToolCalls + extra.uncapped * DEFAULT_SERVER_TOOL_CALLS;
          return {
            native: { api: "anthropic-messages", body: sent as unknown as Json, headers: clientHeaders(headers) },
            canonical: { ...canonical, model: canonical.model ?? "" },
            sameFormatOnly: lossy,
            input: {
              tokens: bound.tokens + extra.bytes,
              images: bound.images,
              ...(extra.unbounded ? { unbounded: true } : {}),
              ...(calls ? { serverToolCalls: calls } : {}),
            },
          };
        },
      };
    },
    renderWhole(body, model, scanner) {
      const out: Json = { ...body, model };
      if (!scanner || !Array.isArray(body.content)) return out;
      out.content = (body.content as unknown[]).map((b, i) => {
        if (!isObject(b)) return b;
        if (b.type === "text" && typeof b.text === "string")
          return { ...b, text: scanner.push(b.text, i) + scanner.end(i) };
        if (b.type === "tool_use" && scanner.pushArgs && scanner.endArgs) {
          const args = JSON.stringify(b.input ?? {});
          const scanned = scanner.pushArgs(args, 0, i) + scanner.endArgs(0, i);
          return scanned === args ? b : { ...b, input: JSON.parse(scanned) };
        }
        return b;
      });
      return out;
    },
    streamer: (model, scanner) => new AnthropicNativeStreamer(model, scanner),
  };
}

/** The request headers an Anthropic upstream reads besides the body (`anthropic-beta`). */
function clientHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const h of ANTHROPIC_CLIENT_HEADERS) {
    const v = headers[h];
    if (typeof v === "string") passed[h] = v;
  }
  return passed;
}

const frame = (e: Json): SseFrame => ({ event: String(e.type), data: e });

class AnthropicNativeStreamer implements NativeStreamer {
  /** Kind of each open content block, by its index. */
  private readonly blocks = new Map<number, "text" | "tool" | "other">();
  private closing: Json | null = null;
  private text = "";

  constructor(
    private readonly model: string,
    private readonly scanner: OutputScanner | undefined,
  ) {}

  event(e: NativeEvent): SseFrame[] {
    const index = typeof e.index === "number" ? e.index : -1;
    const s = this.scanner;
    switch (e.type) {
      case "message_start":
        return [frame({ ...e, message: { ...(e.message as Json), model: this.model } })];
      case "content_block_start": {
        const b = isObject(e.content_block) ? e.content_block : {};
        const kind = b.type === "text" ? "text" : b.type === "tool_use" ? "tool" : "other";
        this.blocks.set(index, kind);
        if (kind === "text" && typeof b.text === "string" && b.text) {
          // Text in the start event goes through the scanner like any delta.
          const first = this.pushText(index, b.text);
          return [frame({ ...e, content_block: { ...b, text: "" } }), ...this.textDelta(index, first)];
        }
        return [frame(e)];
      }
      case "content_block_delta": {
        const d = isObject(e.delta) ? e.delta : {};
        const kind = this.blocks.get(index);
        if (kind === "text" && d.type === "text_delta" && typeof d.text === "string")
          return this.textDelta(index, this.pushText(index, d.text));
        if (kind === "tool" && d.type === "input_json_delta" && typeof d.partial_json === "string") {
          const out = s?.pushArgs ? s.pushArgs(d.partial_json, 0, index) : d.partial_json;
          this.text += out;
          return out ? [frame({ ...e, delta: { ...d, partial_json: out } })] : [];
        }
        return [frame(e)];
      }
      case "content_block_stop": {
        const kind = this.blocks.get(index);
        this.blocks.delete(index);
        let tail: SseFrame[] = [];
        if (kind === "text" && s) tail = this.textDelta(index, s.end(index));
        else if (kind === "tool" && s?.endArgs) {
          const rest = s.endArgs(0, index);
          this.text += rest;
          if (rest)
            tail = [
              frame({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: rest } }),
            ];
        }
        return [...tail, frame(e)];
      }
      case "message_delta":
      case "message_stop":
        // Sent by finish(), with the usage the charge is based on and the cost.
        if (e.type === "message_delta") this.closing = e;
        return [];
      default:
        return [frame(e)];
    }
  }

  private pushText(index: number, text: string): string {
    return this.scanner ? this.scanner.push(text, index) : text;
  }

  private textDelta(index: number, text: string): SseFrame[] {
    if (!text) return [];
    this.text += text;
    return [frame({ type: "content_block_delta", index, delta: { type: "text_delta", text } })];
  }

  finish(_usage: unknown, extra: Record<string, unknown>): SseFrame[] {
    const delta: Json = this.closing ?? { type: "message_delta", delta: { stop_reason: null, stop_sequence: null } };
    return [frame(Object.keys(extra).length ? { ...delta, tollgate: extra } : delta), frame({ type: "message_stop" })];
  }

  error(e: Parameters<NativeStreamer["error"]>[0], requestId: string): SseFrame[] {
    return [frame(anthropicErrorBody(e, requestId))];
  }

  sent(): string {
    return this.text;
  }
}
