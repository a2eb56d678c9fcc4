/**
 * Custom content rules (keyword and regex). Rules are data, never code:
 * Invariants:
 * - A keyword is matched literally: it is escaped into a native RegExp whose
 *   only syntax is ours (no quantifiers from the user), so `{{7*7}}`,
 *   `${…}` or `require('fs')` are just characters to look for.
 * - A user regex runs only in RE2JS (a linear-time RE2 port): no
 *   backtracking, so `(a+)+$` cannot hang; lookaround and backreferences are
 *   refused at save time with the RE2 syntax error, as are programs larger
 *   than MAX_PROGRAM_SIZE instructions.
 * - Nothing in a rule is ever passed to eval, Function, import or a template engine.
 */
import { RE2JS } from "re2js";
import type { Detector, Match } from "./types.js";

export type RuleAction = "log" | "mask" | "redact" | "block";

export interface ContentRule {
  name: string;
  type: "keyword" | "regex";
  pattern: string;
  action: RuleAction;
  category?: string;
  /** Default false: matching ignores case. */
  caseSensitive?: boolean;
  /** Keywords only. Default true: "cat" does not match inside "category". */
  wholeWord?: boolean;
}

export const MAX_PATTERN_LENGTH = 200;
export const MAX_PROGRAM_SIZE = 10_000;
/** Regex matches are assumed no longer than this for the streaming window. */
export const REGEX_RULE_MAX_MATCH = 256;

function compileRe2(pattern: string, caseSensitive: boolean | undefined): RE2JS {
  return RE2JS.compile(pattern, caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE);
}

/** Save-time check of a rule's pattern: null when usable, else a message for the API. */
export function checkRulePattern(type: ContentRule["type"], pattern: string, caseSensitive?: boolean): string | null {
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH)
    return `pattern must be 1-${MAX_PATTERN_LENGTH} characters`;
  if (type === "keyword") {
    if (pattern.trim().length === 0) return "keyword must not be blank";
    // Compiled here too, so a keyword the gateway could not compile is refused when saved, not on every request.
    try {
      keywordRegex({ name: "check", type, pattern, action: "log", caseSensitive });
    } catch (e) {
      return `keyword cannot be matched: ${(e as Error).message}`;
    }
    return null;
  }
  let re: RE2JS;
  try {
    re = compileRe2(pattern, caseSensitive);
  } catch (e) {
    return `invalid regular expression (RE2 syntax): ${(e as Error).message}`;
  }
  if (re.matcher("").programSize() > MAX_PROGRAM_SIZE) return "regular expression is too large";
  if (re.test("")) return "regular expression must not match empty text";
  return null;
}

// Only the syntax characters: under the `u` flag an escaped non-syntax character such as `\-` is a SyntaxError.
const escapeLiteral = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const WORD_CHAR = /[\p{L}\p{N}_]/u;

function keywordRegex(rule: ContentRule): RegExp {
  const wholeWord = rule.wholeWord ?? true;
  const chars = [...rule.pattern];
  const before = wholeWord && WORD_CHAR.test(chars[0]!) ? "(?<![\\p{L}\\p{N}_])" : "";
  const after = wholeWord && WORD_CHAR.test(chars[chars.length - 1]!) ? "(?![\\p{L}\\p{N}_])" : "";
  return new RegExp(before + escapeLiteral(rule.pattern) + after, rule.caseSensitive ? "gu" : "giu");
}

/** A rule as a Detector; throws if the pattern would have been refused at save time. */
export function ruleDetector(rule: ContentRule): Detector {
  const problem = checkRulePattern(rule.type, rule.pattern, rule.caseSensitive);
  if (problem) throw new Error(`rule "${rule.name}": ${problem}`);
  if (rule.type === "keyword") {
    const re = keywordRegex(rule);
    return {
      id: `rule:${rule.name}`,
      maxLength: rule.pattern.length,
      scan(text) {
        const out: Match[] = [];
        re.lastIndex = 0;
        for (let m = re.exec(text); m !== null; m = re.exec(text))
          out.push({ type: "keyword", start: m.index, end: m.index + m[0].length });
        return out;
      },
    };
  }
  const re = compileRe2(rule.pattern, rule.caseSensitive);
  return {
    id: `rule:${rule.name}`,
    maxLength: REGEX_RULE_MAX_MATCH,
    scan(text) {
      // test() runs the DFA only (several times cheaper than find with positions).
      if (!re.test(text)) return [];
      const out: Match[] = [];
      const m = re.matcher(text);
      while (m.find()) {
        if (m.end() > m.start()) out.push({ type: "regex", start: m.start(), end: m.end() });
      }
      return out;
    },
  };
}
