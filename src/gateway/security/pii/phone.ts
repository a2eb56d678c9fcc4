/**
 * Phone numbers, international and national. Candidates are extracted with one
 * linear regex (a digit run with separators) and judged in code. Invariants:
 * - "+" or "00" prefixed: 8–15 digits (E.164).
 * - Otherwise 9–12 digits AND at least one separator, unless a phone word
 *   ("phone", "tel", "call", …) precedes it; plain IDs are never phones.
 * - Not phones: IPv4-like dotted quads, thousands-grouped numbers (1.000.000,
 *   1 000 000), runs of years, dates, versions, amounts after a currency sign.
 */
import type { Detector } from "../types.js";
import { collect, contextHas } from "./util.js";

const CANDIDATE = /(?<![\w+$€£¥.,/:#-])(?:\+|\()?\d[\d ().-]{5,22}\d(?![\w]|[.,/:-]\d|%)/g;
const PHONE_WORDS = /(?:phone|tel\b|tel:|telephone|mobile|cell|call|fax|whatsapp|sms|text me|reach me|contact)/i;

function judge(raw: string, text: string, index: number): boolean {
  if (/[ .-]{2}|\(\(|\)\)/.test(raw)) return false;
  const open = raw.split("(").length - 1;
  const close = raw.split(")").length - 1;
  if (open !== close || open > 1) return false;
  const digits = raw.replace(/\D/g, "");
  const groups = raw.split(/[^\d]+/).filter(Boolean);
  const seps = raw.slice(1).replace(/[\d]/g, "");
  const international = raw.startsWith("+") || digits.startsWith("00");
  if (international) {
    const n = raw.startsWith("+") ? digits.length : digits.length - 2;
    if (n < 8 || n > 15) return false;
  } else {
    if (digits.length < 9 || digits.length > 12) return false;
    if (seps.length === 0 && !contextHas(text, index, 24, PHONE_WORDS)) return false;
  }
  if (groups.length === 4 && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(raw)) return false; // IPv4
  if (groups.length > 1 && groups.slice(1).every((g) => g.length === 3) && /^[\d.,' ]+$/.test(raw) && !international)
    return false; // 1.000.000
  if (groups.length > 1 && groups.every((g) => /^(?:19|20)\d\d$/.test(g))) return false; // 2021 2022 2023
  if (/^(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./]\d{1,2}\b/.test(raw)) return false; // dates
  return true;
}

export const phoneDetector: Detector = {
  id: "phone",
  maxLength: 32,
  scan(text) {
    if (!/\d{2}/.test(text)) return [];
    return collect(text, CANDIDATE, "phone", (m) => {
      let raw = m[0];
      let start = m.index;
      // A "(" only belongs to the number when it closes inside it.
      if (raw.startsWith("(") && !raw.includes(")")) {
        raw = raw.slice(1);
        start++;
      }
      return judge(raw, text, start) ? { start, end: start + raw.length } : null;
    });
  },
};
