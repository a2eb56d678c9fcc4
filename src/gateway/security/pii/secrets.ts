/**
 * Credentials. Each pattern has cheap literal hints checked before its regex
 * runs (most text contains none). Invariants:
 * - All regexes are ours, bounded and free of nested quantifiers.
 * - Matches are reported with `subtype` (e.g. "github_token") and type
 *   "secret"; overlapping candidates resolve to the earliest, then longest.
 * - JWTs need a header that decodes to a JSON object with an "alg" string.
 * - PEM private keys and JWTs can exceed the streaming window, so
 *   `incompleteTail` reports where an unfinished one starts.
 */
import type { Detector, Match } from "../types.js";

interface SecretPattern {
  subtype: string;
  hints: readonly string[];
  re: RegExp;
  /** Capture group holding the secret when the regex also matches a label. */
  group?: number;
  check?(value: string): boolean;
}

const hasDigitAndLetter = (v: string) => /\d/.test(v) && /[A-Za-z]/.test(v);

function jwtHeaderOk(token: string): boolean {
  const head = token.slice(0, token.indexOf("."));
  try {
    const parsed: unknown = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    return typeof parsed === "object" && parsed !== null && typeof (parsed as { alg?: unknown }).alg === "string";
  } catch {
    return false;
  }
}

const PEM_LABEL = "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----";
const PEM_END = "-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----";

const PATTERNS: readonly SecretPattern[] = [
  {
    subtype: "private_key",
    hints: ["PRIVATE KEY"],
    // A whole block when its END is present, else the header and the body so far.
    re: new RegExp(`${PEM_LABEL}(?:[\\s\\S]{0,12000}?${PEM_END}|[A-Za-z0-9+/=\\s:,.\\\\-]{0,12000})`, "g"),
  },
  {
    subtype: "jwt",
    hints: ["eyJ"],
    re: /(?<![\w-])eyJ[A-Za-z0-9_-]{2,2000}\.[A-Za-z0-9_-]{2,8000}\.[A-Za-z0-9_-]{0,2000}(?![\w-])/g,
    check: jwtHeaderOk,
  },
  {
    subtype: "tollgate_key",
    hints: ["tg_live_", "tg_test_"],
    re: /(?<![\w])tg_(?:live|test)_[0-9A-Za-z]{49}(?![0-9A-Za-z])/g,
  },
  {
    subtype: "anthropic_key",
    hints: ["sk-ant-"],
    re: /(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,200}(?![\w-])/g,
    check: hasDigitAndLetter,
  },
  {
    subtype: "openai_key",
    hints: ["sk-"],
    re: /(?<![\w-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}(?![\w-])/g,
    check: (v) => hasDigitAndLetter(v.slice(3)),
  },
  {
    subtype: "aws_access_key_id",
    hints: ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  },
  {
    subtype: "aws_secret_access_key",
    hints: ["ecret"],
    re: /aws_?secret_?(?:access_?)?key["']?\s{0,5}[:=]\s{0,5}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dgi,
    group: 1,
  },
  { subtype: "google_api_key", hints: ["AIza"], re: /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g },
  {
    subtype: "github_token",
    hints: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    re: /(?<![\w])gh[pousr]_[A-Za-z0-9]{36,80}(?![A-Za-z0-9])/g,
  },
  { subtype: "github_token", hints: ["github_pat_"], re: /(?<![\w])github_pat_[A-Za-z0-9_]{60,120}(?![A-Za-z0-9_])/g },
  {
    subtype: "slack_token",
    hints: ["xox", "xapp-"],
    re: /(?<![\w-])(?:xox[abposre]-|xapp-\d-)[A-Za-z0-9-]{10,200}(?![\w-])/g,
    check: hasDigitAndLetter,
  },
  {
    subtype: "stripe_key",
    hints: ["_live_", "_test_"],
    re: /(?<![\w])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,200}(?![A-Za-z0-9])/g,
  },
  {
    subtype: "stripe_webhook_secret",
    hints: ["whsec_"],
    re: /(?<![\w])whsec_[A-Za-z0-9+/=]{24,100}(?![A-Za-z0-9+/=])/g,
  },
];

function scanSecrets(text: string): Match[] {
  const found: Match[] = [];
  for (const p of PATTERNS) {
    if (!p.hints.some((h) => text.includes(h))) continue;
    p.re.lastIndex = 0;
    for (let m = p.re.exec(text); m !== null; m = p.re.exec(text)) {
      let start = m.index;
      let end = start + m[0].length;
      if (p.group !== undefined) {
        const span = m.indices?.[p.group];
        if (!span) continue;
        [start, end] = span;
      }
      if (p.check && !p.check(text.slice(start, end))) continue;
      found.push({ type: "secret", subtype: p.subtype, start, end });
    }
  }
  if (found.length < 2) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [];
  for (const m of found) if (!out.length || m.start >= out[out.length - 1]!.end) out.push(m);
  return out;
}

const TOKEN_CHAR = /[A-Za-z0-9_.-]/;

export const secretsDetector: Detector = {
  id: "secret",
  maxLength: 256,
  scan: scanSecrets,
  incompleteTail(text) {
    const begin = text.lastIndexOf("-----BEGIN");
    if (begin >= 0 && text.indexOf("-----END", begin) < 0) return begin;
    // A JWT still being streamed: the trailing token run starts with "eyJ".
    let i = text.length;
    while (i > 0 && text.length - i < 12_000 && TOKEN_CHAR.test(text[i - 1]!)) i--;
    return text.startsWith("eyJ", i) && i < text.length ? i : -1;
  },
};
