/**
 * Shared vocabulary of the security scanners. Invariants:
 * - Every detector (PII types, secrets, content rules, placeholders) has the
 *   same shape: `scan(text)` returns matches as [start, end) UTF-16 offsets into
 *   exactly the string it was given, sorted by start, non-overlapping within
 *   one detector. Detectors are pure and keep no state between calls.
 * - `maxLength` bounds the length of any match a detector can return (the
 *   streaming window relies on it); detectors whose matches can be longer
 *   (PEM blocks, JWTs) say where an unfinished candidate starts instead.
 * - A Finding never carries a raw matched value: only a masked excerpt.
 */

export type PiiType = "email" | "phone" | "card" | "ssn" | "iban" | "ip" | "secret";
export const PII_TYPES: readonly PiiType[] = ["email", "phone", "card", "ssn", "iban", "ip", "secret"];

/** Ordered weakest → strictest; the order is the tightening order of policies. */
export type Action = "off" | "log" | "mask" | "redact" | "block";
export const ACTION_ORDER: readonly Action[] = ["off", "log", "mask", "redact", "block"];
export const actionRank = (a: Action): number => ACTION_ORDER.indexOf(a);

export type Severity = "low" | "medium" | "high" | "critical";

export interface Match {
  /** Detector-specific type, e.g. "email", "secret", "keyword". */
  type: string;
  /** Finer kind where useful, e.g. "aws_access_key_id" for a secret. */
  subtype?: string;
  start: number;
  end: number;
  /** Confidence in [0,1] for scored detectors. */
  score?: number;
}

export interface Detector {
  readonly id: string;
  /** Upper bound of a match's length (chars), for the streaming window. */
  readonly maxLength: number;
  scan(text: string): Match[];
  /**
   * Optional, for detectors whose matches may exceed the window: the index
   * where an unfinished candidate begins at the very end of `text`, or -1.
   */
  incompleteTail?(text: string): number;
}

export interface Finding {
  category: "pii" | "injection" | "rule";
  /** PII type, "prompt_injection", or the rule's type ("keyword" | "regex"). */
  type: string;
  subtype?: string;
  ruleName?: string;
  ruleCategory?: string;
  action: Exclude<Action, "off">;
  severity: Severity;
  /** Masked excerpt: never the raw secret / personal value. */
  excerpt: string;
  location: "input" | "output";
  messageIndex?: number;
  /** Injection score in [0,1]. */
  score?: number;
}

/** placeholder → original value, for reversible redaction within one request. */
export type RestoreMap = ReadonlyMap<string, string>;
