/**
 * Scanning of tool-call arguments (JSON text the model writes, possibly in
 * fragments) without ever breaking the JSON. Invariants:
 * - Only decoded content is scanned: each string (value or key) is decoded
 *   (escapes such as `\n`, `\"`, `\u0040` undone) and streamed through its own
 *   text channel; what the channel releases is re-encoded as JSON string
 *   content (JSON.stringify), so a redaction, mask or restored value can never
 *   end the string early or leave a broken escape.
 * - Bare tokens (numbers, true/false/null, or garbage from a broken model) are
 *   held until they end and scanned whole; a token that a mask/redact changes
 *   is replaced by a JSON string of the new text (`4111…` → `"[CARD_1]"`), so
 *   the document stays valid JSON (the value's type changes, its secret does not leak).
 * - Structure (`{}[]:,`, whitespace, quotes) passes through unchanged and at
 *   once; a match cannot span two strings, or a string and structure.
 * - Each string is scanned with the last CONTEXT characters of the logical
 *   text before it as left context (e.g. the key `"aws_secret_access_key":"`),
 *   for detectors that need a label; matches inside that context are ignored.
 *   A bare token is a whole value and is scanned without context.
 * - If the model's text is not valid JSON, nothing is invented: an unfinished
 *   string is released unterminated, as the model wrote it; an unfinished
 *   escape at the very end is dropped.
 */

/** A text scanner for one run of text: push returns what may be released now, end the rest. */
export interface TextChannel {
  push(text: string): string;
  end(): string;
}

/** Opens a channel for one string or token, with `context` (already-seen text) as left context. */
export type OpenChannel = (context: string) => TextChannel;

/** A channel for whole arguments: holds everything, then `finish` turns the whole string or token into its output. */
export function bufferedChannel(finish: (text: string) => string): TextChannel {
  let buf = "";
  return {
    push(text) {
      buf += text;
      return "";
    },
    end: () => finish(buf),
  };
}

const CONTEXT = 32;
/** A bare token longer than this is not JSON anyway: it is scanned and released in pieces of this size. */
const MAX_TOKEN = 4096;
const STRUCTURE = new Set(["{", "}", "[", "]", ":", ",", " ", "\t", "\n", "\r"]);
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** JSON string content (no surrounding quotes) for text; lone surrogates become \\uXXXX escapes. */
export const encodeJsonContent = (text: string): string => (text ? JSON.stringify(text).slice(1, -1) : "");

export class JsonArgsStream {
  private inString = false;
  private channel: TextChannel | null = null;
  /** Raw text of an escape sequence cut by a fragment boundary (starts with a backslash). */
  private escape = "";
  private token = "";
  /** The last CONTEXT characters of the logical text (decoded strings, structure as written). */
  private context = "";

  constructor(private readonly open: OpenChannel) {}

  /** The next fragment of the arguments; returns the JSON text to send now. */
  push(fragment: string): string {
    let out = "";
    let run = ""; // decoded string content not yet handed to the channel
    let i = 0;
    const n = fragment.length;
    while (i < n) {
      if (this.inString) {
        if (this.escape) {
          // Complete a pending escape with the characters it needs (`\n`: 1, `\u0040`: 5).
          if (this.escape.length === 1) this.escape += fragment[i++];
          const need = this.escape[1] === "u" ? 6 : 2;
          const take = Math.min(need - this.escape.length, n - i);
          this.escape += fragment.slice(i, i + take);
          i += take;
          if (this.escape.length < need) break;
          run += decodeEscape(this.escape);
          this.escape = "";
          continue;
        }
        const c = fragment.charCodeAt(i);
        if (c === 0x22 /* " */) {
          out += this.closeString(run);
          run = "";
          i++;
          continue;
        }
        if (c === 0x5c /* \ */) {
          this.escape = "\\";
          i++;
          continue;
        }
        // Plain characters up to the next quote or backslash.
        let j = i + 1;
        while (j < n) {
          const d = fragment.charCodeAt(j);
          if (d === 0x22 || d === 0x5c) break;
          j++;
        }
        run += fragment.slice(i, j);
        i = j;
        continue;
      }
      const ch = fragment[i]!;
      if (ch === '"') {
        out += this.flushToken();
        this.inString = true;
        this.channel = this.open(`${this.context}"`);
        this.remember('"');
        out += '"';
      } else if (STRUCTURE.has(ch)) {
        out += this.flushToken();
        this.remember(ch);
        out += ch;
      } else {
        this.token += ch;
        if (this.token.length >= MAX_TOKEN) out += this.flushToken();
      }
      i++;
    }
    if (this.inString && run) out += this.releaseString(run);
    return out;
  }

  /** The end of the arguments: releases whatever is held. */
  end(): string {
    let out = "";
    if (this.inString) {
      this.escape = "";
      out += encodeJsonContent(this.channel!.end());
      this.channel = null;
      this.inString = false;
    }
    return out + this.flushToken();
  }

  private releaseString(run: string): string {
    this.remember(run);
    return encodeJsonContent(this.channel!.push(run));
  }

  private closeString(run: string): string {
    this.remember(`${run}"`);
    const ch = this.channel!;
    this.channel = null;
    this.inString = false;
    return `${encodeJsonContent(ch.push(run) + ch.end())}"`;
  }

  private flushToken(): string {
    const token = this.token;
    if (!token) return "";
    this.token = "";
    // A token is a whole value: no left context (a `,` before a number is structure, not a digit group).
    const ch = this.open("");
    this.remember(token);
    const text = ch.push(token) + ch.end();
    return text === token ? token : JSON.stringify(text);
  }

  private remember(text: string) {
    this.context = text.length >= CONTEXT ? text.slice(-CONTEXT) : (this.context + text).slice(-CONTEXT);
  }
}

function decodeEscape(raw: string): string {
  const kind = raw[1]!;
  if (kind === "u") {
    const hex = raw.slice(2);
    // Not valid JSON: keep the characters, now as plain text (re-encoded safely).
    return HEX4.test(hex) ? String.fromCharCode(parseInt(hex, 16)) : `u${hex}`;
  }
  return SIMPLE_ESCAPES[kind] ?? kind;
}

/** Scans whole arguments (non-streaming): same rules as the stream. */
export function scanJsonArgs(args: string, open: OpenChannel): string {
  const s = new JsonArgsStream(open);
  return s.push(args) + s.end();
}
