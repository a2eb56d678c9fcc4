/**
 * Payment card numbers. Invariants: 13–19 digits, one consistent separator
 * (space or dash) or none, a known issuer prefix, a passing Luhn checksum, and
 * not a single repeated digit. Luhn alone passes 1 in 10 random numbers; the
 * prefix check removes most of the rest.
 */
import type { Detector } from "../types.js";
import { collect } from "./util.js";

const CANDIDATE = /(?<![\d.,-])\d(?:[ -]?\d){12,18}(?!\d|[.,-]\d)/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Visa, Mastercard (51–55, 2221–2720), Amex, Discover, JCB, Diners, UnionPay, Maestro. */
function knownIssuer(d: string): boolean {
  const two = Number(d.slice(0, 2));
  const four = Number(d.slice(0, 4));
  if (d[0] === "4") return d.length === 13 || d.length === 16 || d.length === 19;
  if (two >= 51 && two <= 55) return d.length === 16;
  if (four >= 2221 && four <= 2720) return d.length === 16;
  if (two === 34 || two === 37) return d.length === 15;
  if (d.startsWith("6011") || d.startsWith("65") || (four >= 6440 && four <= 6499)) return d.length >= 16;
  if (two === 35) return d.length >= 16;
  if (two === 36 || two === 38 || two === 30) return d.length >= 14;
  if (two === 62) return d.length >= 16;
  if (two === 50 || (two >= 56 && two <= 69)) return d.length >= 12;
  return false;
}

export const cardDetector: Detector = {
  id: "card",
  maxLength: 23,
  scan(text) {
    if (!/\d{4}/.test(text)) return [];
    return collect(text, CANDIDATE, "card", (m) => {
      const raw = m[0];
      const seps = new Set(raw.replace(/\d/g, ""));
      if (seps.size > 1) return null;
      const d = raw.replace(/\D/g, "");
      if (/^(\d)\1+$/.test(d) || !knownIssuer(d) || !luhnValid(d)) return null;
      return { start: m.index, end: m.index + raw.length };
    });
  },
};
