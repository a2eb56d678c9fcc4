/**
 * A native OpenAI Responses stream rendered to the client event by event:
 * OpenAI's events as it sent them, with Tollgate's response id and the
 * target's name in every response object, and the output policy applied to
 * each scanned slot (native-items.ts).
 *
 * Invariants:
 * - Every delta goes through the scanner first; a frame left empty is not
 *   sent. Held-back text is released at its slot's `.done` event (or at the
 *   first event closing the slot) as one more delta frame, before it.
 * - Every `.done`, `content_part.done`, `output_item.done` event and the
 *   closing response carry exactly the text the client received for that
 *   slot, so a client rebuilding the answer from deltas and one reading the
 *   final objects see the same text.
 * - `sequence_number` counts the frames actually sent, from 0.
 * - The terminal event (`response.completed` / `.incomplete` / `.failed`) is
 *   held and sent by finish(), with Tollgate's cost extension; its `output`
 *   is rebuilt from the items sent. OpenAI's usage is kept as reported.
 * - A reasoning item's encrypted content reaches the client only when it
 *   asked for it; final() always keeps it (for the store).
 * - Without a scanner, events pass through with only the rewrites above.
 */
import type { GatewayError } from "../errors.js";
import type { OutputScanner } from "../hooks.js";
import type { NativeStreamer } from "../inbound/format.js";
import type { NativeEvent } from "../providers/types.js";
import type { SseFrame } from "../sse.js";
import {
  clientItem,
  clientResponse,
  isObject,
  type Json,
  mapItemTexts,
  type NativeResponseTarget,
  partField,
  partSlot,
  type Slot,
  scanWhole,
  slots,
  withTollgateFields,
} from "./native-items.js";

const num = (v: unknown): number => (typeof v === "number" ? v : 0);

/** Delta events of scanned slots, by type. */
const DELTAS: Record<string, (e: Json) => Slot> = {
  "response.output_text.delta": (e) => slots.content(e.item_id, num(e.output_index), num(e.content_index), false),
  "response.refusal.delta": (e) => slots.content(e.item_id, num(e.output_index), num(e.content_index), true),
  "response.reasoning_summary_text.delta": (e) => slots.summary(e.item_id, num(e.output_index), num(e.summary_index)),
  "response.reasoning_text.delta": (e) => slots.reasoning(e.item_id, num(e.output_index), num(e.content_index)),
  "response.function_call_arguments.delta": (e) => slots.args(e.item_id, num(e.output_index)),
  "response.custom_tool_call_input.delta": (e) => slots.custom(e.item_id, num(e.output_index)),
};

/** `.done` events of scanned slots: the slot and the field holding its whole text. */
const DONES: Record<string, { slot: (e: Json) => Slot; field: string }> = {
  "response.output_text.done": { slot: DELTAS["response.output_text.delta"]!, field: "text" },
  "response.refusal.done": { slot: DELTAS["response.refusal.delta"]!, field: "refusal" },
  "response.reasoning_summary_text.done": { slot: DELTAS["response.reasoning_summary_text.delta"]!, field: "text" },
  "response.reasoning_text.done": { slot: DELTAS["response.reasoning_text.delta"]!, field: "text" },
  "response.function_call_arguments.done": {
    slot: DELTAS["response.function_call_arguments.delta"]!,
    field: "arguments",
  },
  "response.custom_tool_call_input.done": { slot: DELTAS["response.custom_tool_call_input.delta"]!, field: "input" },
};

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);
const SNAPSHOTS = new Set(["response.created", "response.in_progress", "response.queued"]);
const PARTS_ADDED = new Set(["response.content_part.added", "response.reasoning_summary_part.added"]);
const PARTS_DONE = new Set(["response.content_part.done", "response.reasoning_summary_part.done"]);

/** What the client received of one slot so far; `open` until its end was released. */
interface Channel {
  slot: Slot;
  sent: string;
  open: boolean;
}

export class NativeResponsesStreamer implements NativeStreamer {
  private seq = 0;
  private out: SseFrame[] = [];
  private readonly channels = new Map<string, Channel>();
  /** Items as sent in `output_item.done` (encrypted content kept), by output index. */
  private readonly done = new Map<number, unknown>();
  /** The latest response object OpenAI sent before the end (for a failure). */
  private snapshot: Json = {};
  private closing: Json | null = null;
  private result: Json | null = null;
  private text = "";

  constructor(
    private readonly t: NativeResponseTarget,
    private readonly scanner: OutputScanner | undefined,
  ) {}

  event(e: NativeEvent): SseFrame[] {
    this.out = [];
    this.handle(e);
    return this.out;
  }

  private handle(e: Json): void {
    const type = String(e.type);
    const delta = DELTAS[type];
    const done = DONES[type];
    if (TERMINAL.has(type)) this.closing = e;
    else if (SNAPSHOTS.has(type)) this.onSnapshot(e);
    else if (type === "response.output_item.added") this.onItemAdded(e);
    else if (type === "response.output_item.done") this.onItemDone(e);
    else if (delta) this.onDelta(e, delta(e));
    else if (!this.scanner) this.emit(e);
    else if (done) this.onDone(e, done.slot(e), done.field);
    else if (PARTS_ADDED.has(type)) this.onPart(e, true);
    else if (PARTS_DONE.has(type)) this.onPart(e, false);
    else this.emit(e);
  }

  private onSnapshot(e: Json): void {
    if (isObject(e.response)) this.snapshot = e.response;
    this.emit({ ...e, response: clientResponse(withTollgateFields(e.response, this.t), this.t) });
  }

  private emit(e: Json): void {
    this.out.push({ event: String(e.type), data: { ...e, sequence_number: this.seq++ } });
  }

  /** Text of a slot through the scanner (pass-through without one); what it returns is sent now. */
  private push(slot: Slot, text: string): string {
    let ch = this.channels.get(slot.id);
    if (!ch) {
      ch = { slot, sent: "", open: true };
      this.channels.set(slot.id, ch);
    }
    const s = this.scanner;
    const scan = slot.scan;
    let out = text;
    if (s && scan.kind === "text") out = s.push(text, scan.key);
    else if (s?.pushArgs && scan.kind === "args") out = s.pushArgs(text, 0, scan.tool);
    this.record(ch, out);
    return out;
  }

  private record(ch: Channel, out: string): void {
    ch.sent += out;
    if (ch.slot.answer) this.text += out;
  }

  /** Releases what the scanner holds of an open slot, as one more delta frame. */
  private close(ch: Channel): void {
    if (!ch.open) return;
    ch.open = false;
    const s = this.scanner;
    const scan = ch.slot.scan;
    let rest = "";
    if (s && scan.kind === "text") rest = s.end(scan.key);
    else if (s?.endArgs && scan.kind === "args") rest = s.endArgs(0, scan.tool);
    if (!rest) return;
    this.record(ch, rest);
    this.emit({ ...ch.slot.delta, delta: rest });
  }

  /** The whole text the client gets for a slot: what was streamed, or `text` scanned whole when nothing was. */
  private resolve(slot: Slot, text: string): string {
    const ch = this.channels.get(slot.id);
    if (ch) {
      this.close(ch);
      return ch.sent;
    }
    const whole = this.scanner ? scanWhole(this.scanner, slot, text) : text;
    const closed: Channel = { slot, sent: "", open: false };
    this.channels.set(slot.id, closed);
    this.record(closed, whole);
    return whole;
  }

  private onDelta(e: Json, slot: Slot): void {
    if (typeof e.delta !== "string") this.emit(e);
    else {
      const out = this.push(slot, e.delta);
      if (out) this.emit(out === e.delta ? e : { ...e, delta: out });
    }
  }

  private onDone(e: Json, slot: Slot, field: string): void {
    const v = e[field];
    const sent = typeof v === "string" ? this.resolve(slot, v) : v;
    this.emit(sent === v ? e : { ...e, [field]: sent });
  }

  /** A part opening (its text, if any, is the slot's first piece) or closing (its text is what was sent). */
  private onPart(e: Json, added: boolean): void {
    const part = e.part;
    const field = isObject(part) ? partField(part) : null;
    if (!isObject(part) || !field) {
      this.emit(e);
      return;
    }
    const slot =
      part.type === "summary_text"
        ? slots.summary(e.item_id, num(e.output_index), num(e.summary_index))
        : partSlot(e, part);
    const v = part[field] as string;
    // An empty opening part opens nothing: a part never streamed is scanned whole when it closes.
    const text = added ? (v ? this.push(slot, v) : v) : this.resolve(slot, v);
    this.emit(text === v ? e : { ...e, part: { ...part, [field]: text } });
  }

  private onItemAdded(e: Json): void {
    const oi = num(e.output_index);
    const opened = this.scanner ? mapItemTexts(e.item, oi, (slot, v) => (v ? this.push(slot, v) : v)) : e.item;
    const item = clientItem(opened, this.t);
    this.emit(item === e.item ? e : { ...e, item });
  }

  private onItemDone(e: Json): void {
    const oi = num(e.output_index);
    const closed = this.scanner ? mapItemTexts(e.item, oi, (slot, v) => this.resolve(slot, v)) : e.item;
    this.done.set(oi, closed);
    const item = clientItem(closed, this.t);
    this.emit(item === e.item ? e : { ...e, item });
  }

  /**
   * The response's output as the client got it: each item as sent in its `output_item.done`, an item
   * never closed with the text streamed for it. Undefined: OpenAI's output as it is (no scanner).
   */
  private finalOutput(upstream: unknown): unknown[] | undefined {
    const listed = Array.isArray(upstream) ? upstream : [];
    if (!this.scanner && Array.isArray(upstream)) return undefined;
    const n = Math.max(listed.length, ...[...this.done.keys()].map((i) => i + 1));
    const output: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const item = this.done.has(i) ? this.done.get(i) : listed[i];
      if (item === undefined) continue;
      output.push(this.done.has(i) ? item : mapItemTexts(item, i, (slot, v) => this.resolve(slot, v)));
    }
    return output;
  }

  finish(_usage: unknown, extra: Record<string, unknown>): SseFrame[] {
    this.out = [];
    for (const ch of this.channels.values()) this.close(ch);
    const closing = this.closing ?? { type: "response.completed", response: { ...this.snapshot, status: "completed" } };
    const upstream = isObject(closing.response) ? closing.response : {};
    const response = withTollgateFields(upstream, this.t, this.finalOutput(upstream.output));
    this.result = response;
    const tollgate = Object.keys(extra).length ? { tollgate: extra } : {};
    this.emit({ ...closing, response: clientResponse(response, this.t), ...tollgate });
    return this.out;
  }

  /** A failure after the stream started, as on the translated path: an `error` event, then `response.failed`. */
  error(e: GatewayError, _requestId: string): SseFrame[] {
    this.out = [];
    const output = [...this.done.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
    const response = {
      ...withTollgateFields(this.snapshot, this.t, output),
      status: "failed",
      error: { code: e.code, message: e.message },
    };
    this.emit({ type: "error", code: e.code, message: e.message, param: e.param });
    this.emit({ type: "response.failed", response: clientResponse(response, this.t) });
    return this.out;
  }

  sent(): string {
    return this.text;
  }

  /** The finished response object (Tollgate's fields, scanned text, encrypted content kept); null before finish(). */
  final(): Json | null {
    return this.result;
  }
}
