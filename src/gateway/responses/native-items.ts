/**
 * The parts of a native OpenAI Responses answer the output policy covers, and
 * the rewrites every response object gets before the client sees it.
 *
 * A slot is one scanned run of model output inside the response: an
 * `output_text` or `refusal` part of a message, a reasoning summary part, a
 * reasoning text part, a function call's arguments, a custom tool call's
 * input. Each slot has its own scanner key, so held-back text is released
 * within its own slot and never moves to another. Keys never collide across
 * kinds: message parts use `output_index * 1000 + content_index`, summary and
 * reasoning parts the same plus a base of their own, custom tool input a base
 * plus `output_index`; function arguments go through pushArgs/endArgs with the
 * output index as the tool index (choice 0).
 *
 * Invariants: nothing here mutates its input; an item or response object is
 * copied only when something in it changes.
 */
import type { OutputScanner } from "../hooks.js";

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

const PART_KEYS = 1000;
const SUMMARY_BASE = 1_000_000_000;
const REASONING_BASE = 2_000_000_000;
const CUSTOM_BASE = 3_000_000_000;

/** One scanned run of output text, and the delta event that carries it in a stream. */
export interface Slot {
  /** Unique within a response. */
  id: string;
  scan: { kind: "text"; key: number } | { kind: "args"; tool: number };
  /** Part of the answer proper (message text, tool input), as opposed to reasoning. */
  answer: boolean;
  /** The delta event for this slot, without its `delta` (and sequence number). */
  delta: Json;
}

export const slots = {
  content(itemId: unknown, oi: number, ci: number, refusal: boolean): Slot {
    const at = { item_id: itemId, output_index: oi, content_index: ci };
    return {
      id: `c:${oi}:${ci}`,
      scan: { kind: "text", key: oi * PART_KEYS + ci },
      answer: true,
      delta: refusal
        ? { type: "response.refusal.delta", ...at }
        : { type: "response.output_text.delta", ...at, logprobs: [] },
    };
  },
  summary(itemId: unknown, oi: number, si: number): Slot {
    return {
      id: `s:${oi}:${si}`,
      scan: { kind: "text", key: SUMMARY_BASE + oi * PART_KEYS + si },
      answer: false,
      delta: { type: "response.reasoning_summary_text.delta", item_id: itemId, output_index: oi, summary_index: si },
    };
  },
  reasoning(itemId: unknown, oi: number, ci: number): Slot {
    return {
      id: `r:${oi}:${ci}`,
      scan: { kind: "text", key: REASONING_BASE + oi * PART_KEYS + ci },
      answer: false,
      delta: { type: "response.reasoning_text.delta", item_id: itemId, output_index: oi, content_index: ci },
    };
  },
  args(itemId: unknown, oi: number): Slot {
    return {
      id: `f:${oi}`,
      scan: { kind: "args", tool: oi },
      answer: true,
      delta: { type: "response.function_call_arguments.delta", item_id: itemId, output_index: oi },
    };
  },
  custom(itemId: unknown, oi: number): Slot {
    return {
      id: `t:${oi}`,
      scan: { kind: "text", key: CUSTOM_BASE + oi },
      answer: true,
      delta: { type: "response.custom_tool_call_input.delta", item_id: itemId, output_index: oi },
    };
  },
};

const num = (v: unknown): number => (typeof v === "number" ? v : 0);

/** The slot of a content part event (`response.content_part.*`): message text, refusal or reasoning text. */
export function partSlot(e: Json, part: Json): Slot {
  const oi = num(e.output_index);
  const ci = num(e.content_index);
  return part.type === "reasoning_text"
    ? slots.reasoning(e.item_id, oi, ci)
    : slots.content(e.item_id, oi, ci, part.type === "refusal");
}

/** The field of a content part holding its text, when it is one the policy scans. */
export function partField(part: Json): "text" | "refusal" | null {
  if (
    (part.type === "output_text" || part.type === "reasoning_text" || part.type === "summary_text") &&
    typeof part.text === "string"
  )
    return "text";
  if (part.type === "refusal" && typeof part.refusal === "string") return "refusal";
  return null;
}

/** Scans one whole run of text (a whole answer, or a part never streamed as deltas). */
export function scanWhole(scanner: OutputScanner, slot: Slot, text: string): string {
  const s = slot.scan;
  if (s.kind === "text") return scanner.push(text, s.key) + scanner.end(s.key);
  if (!scanner.pushArgs || !scanner.endArgs) return text;
  return scanner.pushArgs(text, 0, s.tool) + scanner.endArgs(0, s.tool);
}

type TextOf = (slot: Slot, text: string) => string;

/** `parts` with each scanned text replaced by `f`; the same array when nothing changed. */
function mapParts(parts: unknown, slotOf: (part: Json, i: number) => Slot, f: TextOf): unknown {
  if (!Array.isArray(parts)) return parts;
  let changed = false;
  const out = parts.map((p, i) => {
    if (!isObject(p)) return p;
    const field = partField(p);
    if (!field) return p;
    const text = f(slotOf(p, i), p[field] as string);
    if (text === p[field]) return p;
    changed = true;
    return { ...p, [field]: text };
  });
  return changed ? out : parts;
}

/** An output item with each scanned text replaced by `f(slot, text)`; the same item when nothing changed. */
export function mapItemTexts(item: unknown, oi: number, f: TextOf): unknown {
  if (!isObject(item)) return item;
  const id = item.id;
  const swap = (field: string, slot: Slot): unknown => {
    const v = item[field];
    if (typeof v !== "string") return item;
    const text = f(slot, v);
    return text === v ? item : { ...item, [field]: text };
  };
  switch (item.type) {
    case "message": {
      const content = mapParts(item.content, (p, ci) => slots.content(id, oi, ci, p.type === "refusal"), f);
      return content === item.content ? item : { ...item, content };
    }
    case "reasoning": {
      const summary = mapParts(item.summary, (_p, si) => slots.summary(id, oi, si), f);
      const content = mapParts(item.content, (_p, ci) => slots.reasoning(id, oi, ci), f);
      if (summary === item.summary && content === item.content) return item;
      return {
        ...item,
        ...(summary === item.summary ? {} : { summary }),
        ...(content === item.content ? {} : { content }),
      };
    }
    case "function_call":
      return swap("arguments", slots.args(id, oi));
    case "custom_tool_call":
      return swap("input", slots.custom(id, oi));
    default:
      return item;
  }
}

/** What Tollgate writes in every response object it returns or stores. */
export interface NativeResponseTarget {
  /** Tollgate's response id (resp_…) that replaces OpenAI's everywhere. */
  id: string;
  /** The model name the client sees (the target's name). */
  model: string;
  /**
   * What the client asked, restored in the response object: OpenAI got store:false, no
   * previous_response_id, and maybe extra include entries and max_tool_calls.
   */
  store: boolean;
  previousResponseId: string | null;
  /**
   * The client asked for include "reasoning.encrypted_content": otherwise encrypted_content is removed
   * from what the client gets (it is kept in what is stored).
   */
  clientWantsEncrypted: boolean;
  /** max_tool_calls as the client sent it (null when it sent none; Tollgate may have set one upstream). */
  maxToolCalls: number | null;
}

/** OpenAI's response object with Tollgate's id, the target's name and what the client asked (`output` replaced when given). */
export function withTollgateFields(r: unknown, t: NativeResponseTarget, output?: unknown[]): Json {
  const base = isObject(r) ? r : {};
  return {
    ...base,
    id: t.id,
    model: t.model,
    store: t.store,
    previous_response_id: t.previousResponseId,
    max_tool_calls: t.maxToolCalls,
    ...(output ? { output } : {}),
  };
}

/** An output item as the client gets it: a reasoning item loses its encrypted content unless the client asked for it. */
export function clientItem(item: unknown, t: NativeResponseTarget): unknown {
  if (t.clientWantsEncrypted || !isObject(item) || item.type !== "reasoning" || !("encrypted_content" in item))
    return item;
  const { encrypted_content: _dropped, ...rest } = item;
  return rest;
}

/** A response object as the client gets it (see clientItem); the same object when nothing is removed. */
export function clientResponse(r: Json, t: NativeResponseTarget): Json {
  if (t.clientWantsEncrypted || !Array.isArray(r.output)) return r;
  let changed = false;
  const output = r.output.map((item) => {
    const out = clientItem(item, t);
    if (out !== item) changed = true;
    return out;
  });
  return changed ? { ...r, output } : r;
}
