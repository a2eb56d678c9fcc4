/**
 * Output scanning for whole and streamed answers (the gateway's OutputScanner).
 * Invariants, per choice index:
 * - Text is released only once no match that could still grow can overlap it:
 *   the last W chars (W = the longest match any enabled detector can return,
 *   at most WINDOW_MAX) are held back, a match crossing that line is released
 *   whole, a match touching the end of the buffer is held from its start, and
 *   an unfinished long secret (PEM block, JWT) is held from where it starts,
 *   up to MAX_HOLD chars.
 * - Some already-released raw text (CONTEXT chars) is kept as left context so
 *   boundary checks see the true preceding character; matches starting inside
 *   it were already handled and are ignored.
 * - end() releases everything held. A "block" throws GatewayError 403
 *   policy_violation (naming the type, never the content) and keeps throwing.
 * - Placeholders from the request are restored only when restore is enabled;
 *   restored values are never re-scanned (they are the client's own input).
 * - Tool-call arguments (pushArgs/endArgs, per choice and tool-call index) go
 *   through the same window, one channel per JSON string or token
 *   (json-args.ts): the client always receives valid JSON text. They share
 *   the placeholder numbering, the findings and the block with the text.
 */
import { GatewayError } from "../errors.js";
import type { OutputScanner } from "../hooks.js";
import { findMatches, PlaceholderRegistry, placeholderEntry, render, type Entry } from "./engine.js";
import { JsonArgsStream, type TextChannel } from "./json-args.js";
import type { Finding, RestoreMap } from "./types.js";

export const WINDOW_MAX = 256;
export const MAX_HOLD = 16_384;
const CONTEXT = 32;

export interface PolicyOutputScanner extends OutputScanner {
  /** Findings so far (masked excerpts only); the caller records them as incidents. */
  readonly findings: Finding[];
  pushArgs(fragment: string, choiceIndex: number, toolIndex: number): string;
  endArgs(choiceIndex: number, toolIndex: number): string;
}

export function policyViolation(f: Finding): GatewayError {
  const what = f.category === "rule" ? `rule "${f.ruleName}"` : f.type;
  return new GatewayError("policy_violation", `Blocked by policy: ${what}`);
}

export function createOutputScanner(
  baseEntries: readonly Entry[],
  restoreMap: RestoreMap | undefined,
  restore: boolean,
): PolicyOutputScanner {
  const registry = new PlaceholderRegistry(restoreMap);
  const entries = restore && restoreMap?.size ? [placeholderEntry(registry.restore), ...baseEntries] : [...baseEntries];
  const findings: Finding[] = [];
  const window = Math.min(WINDOW_MAX, Math.max(0, ...entries.map((e) => e.detector.maxLength)));
  const tails = entries.filter((e) => e.detector.incompleteTail);
  const choices = new Map<number, TextChannel>();
  const toolArgs = new Map<string, JsonArgsStream>();
  let blocked: Finding | null = null;

  /** One run of text with its own hold-back state; `context` is text already released before it. */
  function channel(context = ""): TextChannel {
    const st = { ctx: context.slice(-CONTEXT), pending: "" };
    function step(text: string, final: boolean): string {
      if (blocked) throw policyViolation(blocked);
      if (entries.length === 0) return text;
      const buf = st.ctx + st.pending + text;
      const base = st.ctx.length;
      const hits = findMatches(buf, entries).filter((h) => h.match.start >= base);
      let cut = final ? buf.length : Math.max(base, buf.length - window);
      if (!final) {
        for (const t of tails) {
          const at = t.detector.incompleteTail!(buf);
          if (at >= base && buf.length - at <= MAX_HOLD) cut = Math.min(cut, at);
        }
        for (const h of hits) {
          const { start, end } = h.match;
          if (start >= cut) break;
          if (end <= cut) continue;
          // Crosses the line: release it whole, unless it may still be growing.
          cut = end >= buf.length && buf.length - start <= MAX_HOLD ? start : end;
          break;
        }
      }
      const out = render(buf, hits, base, cut, { registry, findings, location: "output" });
      if (out.blocked) {
        blocked = out.blocked;
        throw policyViolation(blocked);
      }
      st.ctx = buf.slice(Math.max(0, cut - CONTEXT), cut);
      st.pending = buf.slice(cut);
      return out.text;
    }
    return { push: (text) => step(text, false), end: () => step("", true) };
  }

  function argsOf(choiceIndex: number, toolIndex: number): JsonArgsStream {
    const key = `${choiceIndex}:${toolIndex}`;
    let s = toolArgs.get(key);
    if (!s) {
      s = new JsonArgsStream(channel);
      toolArgs.set(key, s);
    }
    return s;
  }

  return {
    findings,
    push(text, choiceIndex) {
      let ch = choices.get(choiceIndex);
      if (!ch) {
        ch = channel();
        choices.set(choiceIndex, ch);
      }
      return ch.push(text);
    },
    end(choiceIndex) {
      const ch = choices.get(choiceIndex) ?? channel();
      choices.delete(choiceIndex);
      return ch.end();
    },
    pushArgs(fragment, choiceIndex, toolIndex) {
      if (blocked) throw policyViolation(blocked);
      return entries.length === 0 ? fragment : argsOf(choiceIndex, toolIndex).push(fragment);
    },
    endArgs(choiceIndex, toolIndex) {
      if (blocked) throw policyViolation(blocked);
      const s = toolArgs.get(`${choiceIndex}:${toolIndex}`);
      toolArgs.delete(`${choiceIndex}:${toolIndex}`);
      return s ? s.end() : "";
    },
  };
}
