/**
 * Writing what the input policy changed back into a request as the client
 * wrote it (same-format traffic). The policy scans a view — a canonical
 * request in which every string it may change has one slot in the original —
 * and each changed string is set in a copy of the original: copy-on-write
 * along each changed path, never a deep copy; the original itself when
 * nothing changed.
 */
import type { AssistantMessage, ChatMessage, ChatRequest } from "../types.js";

type Json = Record<string, unknown>;
export type Path = ReadonlyArray<string | number>;

/** Where a scanned string of the view lives in the original body. */
export interface Slot {
  /** Message index in the view. */
  message: number;
  /** Text part index (content as parts), or -1 for string content. */
  part: number;
  /** A tool call's arguments instead of text (`part` is then the tool call index). */
  args?: true;
  /** The original holds the arguments parsed (an object), not as a JSON string. */
  parsed?: true;
  path: Path;
}

/** `body` with each slot's string as the scan left it (`body` itself when the scan changed nothing). */
export function writeBack<T>(body: T, view: ChatRequest, scanned: ChatRequest, slots: readonly Slot[]): T {
  let out = body as unknown as Json;
  for (const s of slots) {
    const before = view.messages[s.message]!;
    const after = scanned.messages[s.message];
    if (!after || after === before) continue; // the scanner copies only what it changed
    const was = stringAt(before, s);
    const now = stringAt(after, s);
    if (now === undefined || now === was) continue;
    out = setPath(out, s.path, s.parsed ? JSON.parse(now) : now);
  }
  return out as unknown as T;
}

function stringAt(m: ChatMessage, s: Slot): string | undefined {
  if (s.args) return (m as AssistantMessage).tool_calls?.[s.part]?.function.arguments;
  const c = m.content;
  if (s.part === -1) return typeof c === "string" ? c : undefined;
  const p = Array.isArray(c) ? c[s.part] : undefined;
  return p && p.type === "text" ? p.text : undefined;
}

/** `root` with `value` at `path`, copying only the containers along the path. */
function setPath(root: Json, path: Path, value: unknown): Json {
  const copy = (v: unknown): Json | unknown[] => (Array.isArray(v) ? [...v] : { ...(v as Json) });
  const top = copy(root) as Json;
  let cur: Json | unknown[] = top;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = copy((cur as Record<string | number, unknown>)[k]);
    (cur as Record<string | number, unknown>)[k] = next;
    cur = next;
  }
  (cur as Record<string | number, unknown>)[path[path.length - 1]!] = value;
  return top;
}
