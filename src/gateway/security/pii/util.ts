/**
 * Helpers shared by the PII detectors. Invariants: every regex handed to
 * `collect` is one of ours (never user input), global, and written without
 * nested or overlapping quantifiers, so each runs in time linear in the text.
 */
import type { Match } from "../types.js";

/** Runs a global regex over text and keeps candidates `accept` approves (it may narrow them). */
export function collect(
  text: string,
  re: RegExp,
  type: string,
  accept: (m: RegExpExecArray) => { start: number; end: number; subtype?: string } | null,
): Match[] {
  const out: Match[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const hit = accept(m);
    if (hit)
      out.push(
        hit.subtype
          ? { type, subtype: hit.subtype, start: hit.start, end: hit.end }
          : { type, start: hit.start, end: hit.end },
      );
  }
  return out;
}

/** True when the `window` chars before `index` match `words` (give it the i flag). */
export function contextHas(text: string, index: number, window: number, words: RegExp): boolean {
  return words.test(text.slice(Math.max(0, index - window), index));
}
