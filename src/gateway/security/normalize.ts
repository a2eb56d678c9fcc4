/**
 * Text normalisation and payload decoding for the injection heuristics.
 * Invariants:
 * - normalizeForInjection is for matching only (never sent upstream): NFKC,
 *   zero-width/bidi removal, common Cyrillic/Greek look-alikes to Latin, lower
 *   case, light leetspeak inside mixed tokens, s.p.a.c.e.d letters joined,
 *   runs of spaces/tabs collapsed (newlines kept: role markers need them).
 * - It reports which obfuscations it undid, as evidence in itself.
 * - decodeBlobs returns at most MAX_BLOBS decoded texts of embedded base64,
 *   hex, %-encoding and rot13, each bounded; it never recurses (the caller
 *   decides how deep to go, iteratively).
 */

export interface Normalized {
  text: string;
  zeroWidth: boolean;
  confusables: boolean;
  leet: boolean;
  spaced: boolean;
}

const ZERO_WIDTH = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/g;
const CONFUSABLE: Record<string, string> = {
  а: "a",
  е: "e",
  о: "o",
  р: "p",
  с: "c",
  у: "y",
  х: "x",
  і: "i",
  ј: "j",
  ѕ: "s",
  ԁ: "d",
  ӏ: "l",
  һ: "h",
  ԛ: "q",
  ԝ: "w",
  А: "a",
  В: "b",
  Е: "e",
  К: "k",
  М: "m",
  Н: "h",
  О: "o",
  Р: "p",
  С: "c",
  Т: "t",
  Х: "x",
  І: "i",
  α: "a",
  ο: "o",
  ρ: "p",
  ε: "e",
  ι: "i",
  κ: "k",
  ν: "v",
  τ: "t",
  υ: "u",
  χ: "x",
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLE).join("")}]`, "g");
const LEET: Record<string, string> = { "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", $: "s" };
const HAS_LEET = /[a-z][013457@$]|[013457@$][a-z]/;
const MIXED_TOKEN = /[a-z0-9@$]*[a-z][a-z0-9@$]*/g;
const SPACED = /(?<![a-z])(?:[a-z][ ._*-]){2,}[a-z](?![a-z])/g;

export function normalizeForInjection(input: string): Normalized {
  let text = input;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: \x00 is the bottom of the ASCII range; this asks whether any character lies outside it
  const nonAscii = /[^\x00-\x7f]/.test(text);
  let zeroWidth = false;
  let confusables = false;
  if (nonAscii) {
    text = text.normalize("NFKC");
    const stripped = text.replace(ZERO_WIDTH, "");
    zeroWidth = stripped.length !== text.length;
    text = stripped.replace(CONFUSABLE_RE, (c) => {
      confusables = true;
      return CONFUSABLE[c] ?? c;
    });
  }
  text = text.toLowerCase();
  let leet = false;
  if (HAS_LEET.test(text)) {
    text = text.replace(MIXED_TOKEN, (tok) => {
      if (!/[013457@$]/.test(tok) || (/^\d/.test(tok) && /^\d+[a-z]{1,3}$/.test(tok))) return tok; // 10am, 3rd, 64kb stay
      leet = true;
      return tok.replace(/[013457@$]/g, (c) => LEET[c]!);
    });
  }
  let spaced = false;
  text = text.replace(SPACED, (run) => {
    // "a b" in prose is common; only runs of 4+ letters count as spacing-out.
    if (run.length < 7) return run;
    spaced = true;
    return run.replace(/[ ._*-]/g, "");
  });
  text = text.replace(/[ \t\f\v]{2,}|[\t\f\v]/g, " ");
  return { text, zeroWidth, confusables, leet, spaced };
}

export const MAX_BLOBS = 6;
const MAX_BLOB_CHARS = 4096;

const HEX_SPACED = /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]){11,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])/g;
const PERCENT = /(?:%[0-9A-Fa-f]{2}){6,}/g;
const ROT13_HINTS = /vtaber|qvfertneq|vafgehpgvba|flfgrz cebzcg|cerivbhf|erirny|wnvyoernx|sbetrg/i;

/** Runs of ≥ 20 base64/base64url characters, found with a plain loop (cheaper than a regex here). */
function base64Runs(text: string): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0;
    const ok =
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === 43 ||
      c === 47 ||
      c === 45 ||
      c === 95 ||
      (c === 61 && start >= 0);
    if (ok) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 20) runs.push([start, i]);
      start = -1;
    }
  }
  return runs;
}

function readable(s: string): boolean {
  if (s.length < 8) return false;
  let printable = 0;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9) printable++;
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters++;
  }
  return printable / s.length > 0.95 && letters / s.length > 0.5 && s.includes(" ");
}

export const rot13 = (s: string) =>
  s.replace(/[a-z]/gi, (c) => {
    const base = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });

/** Decoded texts of payloads embedded in `text` (original case), readable ones only. */
export function decodeBlobs(text: string): string[] {
  const out: string[] = [];
  const add = (s: string) => {
    if (out.length < MAX_BLOBS && readable(s)) out.push(s.slice(0, MAX_BLOB_CHARS));
  };
  if (text.length >= 20) {
    for (const [a, b] of base64Runs(text)) {
      if (out.length >= MAX_BLOBS) break;
      const blob = text.slice(a, Math.min(b, a + MAX_BLOB_CHARS * 2));
      if (/^[0-9A-Fa-f]+$/.test(blob)) {
        if (blob.length % 2 === 0) add(Buffer.from(blob, "hex").toString("utf8"));
        continue;
      }
      // A word run without both cases is prose or an identifier, not base64 of text.
      if (!/[A-Z]/.test(blob) || !/[a-z]/.test(blob)) continue;
      add(Buffer.from(blob, /[-_]/.test(blob) ? "base64url" : "base64").toString("utf8"));
    }
    HEX_SPACED.lastIndex = 0;
    for (let m = HEX_SPACED.exec(text); m && out.length < MAX_BLOBS; m = HEX_SPACED.exec(text)) {
      add(Buffer.from(m[0].replace(/[ :]/g, "").slice(0, MAX_BLOB_CHARS * 2), "hex").toString("utf8"));
    }
  }
  if (text.includes("%")) {
    PERCENT.lastIndex = 0;
    for (let m = PERCENT.exec(text); m && out.length < MAX_BLOBS; m = PERCENT.exec(text)) {
      try {
        add(decodeURIComponent(m[0].slice(0, MAX_BLOB_CHARS * 3)));
      } catch {
        /* not valid %-encoding: nothing hidden there */
      }
    }
  }
  if (ROT13_HINTS.test(text)) add(rot13(text.slice(0, MAX_BLOB_CHARS)));
  return out;
}
