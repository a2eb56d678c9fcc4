/**
 * IBANs. Invariants: a known country code with that country's exact length,
 * groups of 4 optionally separated by single spaces, and the ISO 13616
 * mod-97 check equal to 1. Trailing words are never swallowed: the match ends
 * exactly after the country's number of characters.
 */
import type { Detector } from "../types.js";
import { collect } from "./util.js";

const LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

const CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}/g;

export function ibanChecksumValid(iban: string): boolean {
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const c = ch.charCodeAt(0);
    const v = c >= 65 ? c - 55 : c - 48; // A=10 … Z=35
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

export const ibanDetector: Detector = {
  id: "iban",
  maxLength: 42,
  scan(text) {
    if (!/[A-Z]{2}\d{2}/.test(text)) return [];
    return collect(text, CANDIDATE, "iban", (m) => {
      const raw = m[0];
      const want = LENGTHS[raw.slice(0, 2)];
      if (!want) return null;
      // Walk to the want-th alphanumeric; it must end a group (space or end after it).
      let count = 0;
      let end = 0;
      while (end < raw.length && count < want) {
        if (raw[end] !== " ") count++;
        end++;
      }
      if (count < want) return null;
      const next = text[m.index + end];
      if (next !== undefined && /[A-Za-z0-9]/.test(next)) return null;
      const compact = raw.slice(0, end).replace(/ /g, "").toUpperCase();
      if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact) || !ibanChecksumValid(compact)) return null;
      return { start: m.index, end: m.index + end };
    });
  },
};
