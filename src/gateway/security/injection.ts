/**
 * Prompt-injection detection: scored heuristics, no model. Invariants:
 * - Input is normalised first (normalize.ts); each signal is a regex over the
 *   normalised text, gated by word stems found in one pass, so signals whose
 *   words are absent cost nothing. All regexes are ours, bounded, without
 *   nested quantifiers.
 * - score = 1 − Π(1 − wᵢ) over the distinct signals that fire (noisy-OR), so
 *   it is in [0,1] and one weak signal never reaches the default threshold;
 *   text that talks *about* attacks (meta/education markers) is damped.
 * - Embedded base64/hex/%/rot13 payloads are decoded and scored too, at most
 *   MAX_DEPTH levels deep, with an explicit work list (no recursion).
 * - Never throws; cost is linear in the text length.
 * The signal table itself lives in injection-patterns.ts.
 */
import { SIGNALS } from "./injection-patterns.js";
import type { InjectionFamily, Signal } from "./injection-signal.js";
import { decodeBlobs, normalizeForInjection } from "./normalize.js";
import type { Detector, Match } from "./types.js";

export type { InjectionFamily } from "./injection-signal.js";

/**
 * One pass finds which hint stems occur (a single alternation regex is far
 * cheaper than dozens of `includes`); hints with other characters use `includes`.
 */
const STEMS = [...new Set(SIGNALS.flatMap((s) => s.need.flat()).filter((h) => /^[a-z0-9']+$/.test(h)))].sort(
  (a, b) => b.length - a.length,
);
const STEM_RE = new RegExp(`\\b(?:${STEMS.join("|")})`, "g");
/** A found stem also satisfies every shorter stem it starts with ("your" ⇒ "you"). */
const PREFIXES = new Map(STEMS.map((s) => [s, STEMS.filter((t) => t !== s && s.startsWith(t))]));

function stemsIn(text: string): Set<string> {
  const found = new Set<string>();
  STEM_RE.lastIndex = 0;
  for (let m = STEM_RE.exec(text); m; m = STEM_RE.exec(text)) {
    if (found.has(m[0])) continue;
    found.add(m[0]);
    for (const p of PREFIXES.get(m[0]) ?? []) found.add(p);
  }
  return found;
}

const wanted = (s: Signal, stems: Set<string>, text: string) =>
  s.need.every((group) => group.some((h) => (/^[a-z0-9']+$/.test(h) ? stems.has(h) : text.includes(h))));

/** Talking about attacks rather than making one. */
const META =
  /\b(?:phrases? like|such as|for example|examples? of|(?:injection|jailbreak|prompt) (?:filter|detector|classifier)|detect(?:ion|ing)?|defend|false positives?|security training|red[- ]team|at a high level|high level)\b/;
const QUESTION = /^(?:what|how|why|where|when|which|explain|is|are|does|do|can you explain|in [a-z]+,)\b/;

export const MAX_DEPTH = 2;

export interface InjectionResult {
  score: number;
  families: InjectionFamily[];
  signals: string[];
  /** The strongest signal's matched phrase (normalised, ≤ 80 chars). */
  excerpt: string;
}

function scoreNormalized(raw: string): InjectionResult {
  const n = normalizeForInjection(raw);
  const text = n.text;
  let keep = 1;
  const signals: string[] = [];
  const families = new Set<InjectionFamily>();
  let best = { w: 0, excerpt: "" };
  const stems = stemsIn(text);
  let question: boolean | undefined;
  for (const s of SIGNALS) {
    if (!wanted(s, stems, text)) continue;
    const m = s.re.exec(text);
    if (!m) continue;
    let w = s.weight;
    if (s.mention) {
      question ??= QUESTION.test(text.trimStart());
      if (question) w *= 0.6;
    }
    keep *= 1 - w;
    signals.push(s.id);
    families.add(s.family);
    if (w > best.w) best = { w, excerpt: m[0] };
  }
  const evidence: Array<[string, number, boolean]> = [
    ["zero_width", 0.2, n.zeroWidth],
    ["confusables", 0.2, n.confusables],
    ["leetspeak", 0.15, n.leet],
    ["spaced_letters", 0.15, n.spaced],
  ];
  if (signals.length) {
    for (const [id, w, on] of evidence) {
      if (!on) continue;
      keep *= 1 - w;
      signals.push(id);
      families.add("encoded");
    }
  }
  let score = 1 - keep;
  if (score > 0 && META.test(text)) score *= 0.5;
  return { score, families: [...families], signals, excerpt: best.excerpt.trim().slice(0, 80) };
}

/** Scores one text (message content, tool result…) for prompt injection. */
export function scoreInjection(text: string): InjectionResult {
  const top = scoreNormalized(text);
  // Decoded payloads: a work list instead of recursion, bounded by MAX_DEPTH.
  let frontier = [text];
  for (let depth = 1; depth <= MAX_DEPTH && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier) {
      for (const decoded of decodeBlobs(t)) {
        const r = scoreNormalized(decoded);
        if (r.score > 0) {
          // Hiding an instruction in an encoding is evidence in itself.
          const s = Math.min(1, r.score + 0.15);
          if (s > top.score) {
            top.score = s;
            top.excerpt = r.excerpt;
          }
          top.signals.push(`decoded:${r.signals.join("+")}`);
          if (!top.families.includes("encoded")) top.families.push("encoded");
        }
        next.push(decoded);
      }
    }
    frontier = next;
  }
  top.score = Math.round(top.score * 1000) / 1000;
  return top;
}

/** The injection heuristics as a Detector: one match spanning the text when score ≥ threshold. */
export function injectionDetector(threshold: number): Detector {
  return {
    id: "prompt_injection",
    maxLength: Number.POSITIVE_INFINITY,
    scan(text): Match[] {
      const r = scoreInjection(text);
      return r.score >= threshold
        ? [{ type: "prompt_injection", subtype: r.families.join(","), start: 0, end: text.length, score: r.score }]
        : [];
    },
  };
}
