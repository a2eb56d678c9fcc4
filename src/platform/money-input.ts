/**
 * USD amounts in request bodies: one zod type for every money field of the
 * management API, so a bad amount is always 400 VALIDATION_ERROR naming the
 * field (never a 500 from a parse deeper down). Accepted: a plain decimal
 * string ("12.50") or a JSON number whose shortest form is a plain decimal
 * (12.5), parsed exactly into micro-USD (`money.ts`). Refused, each with its
 * own message: exponent notation, more decimals than the field allows, a
 * sign, NaN/Infinity, amounts above the field's ceiling, any other type.
 */
import { z } from "zod";
import { formatUsd, parseUsd, USD_DECIMALS } from "./money.js";

export interface UsdFieldOptions {
  /** Largest accepted amount, in USD (a decimal string). */
  max: string;
  /** Decimal places allowed (default 6, micro-USD); 2 for card payments (whole cents). */
  decimals?: number;
}

const MAX_LENGTH = 40;
const PLAIN = /^(\d+(\.\d*)?|\.\d+)$/;

/** Why `input` is not an acceptable amount, or null. */
function problem(input: string | number, decimals: number, max: bigint): string | null {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return "Must be a finite number of US dollars.";
    text = String(input);
  } else {
    text = input.trim();
  }
  if (text.length > MAX_LENGTH) return `Too long for an amount (at most ${MAX_LENGTH} characters).`;
  if (/^[+-]?(nan|inf(inity)?)$/i.test(text)) return "Must be a finite number of US dollars.";
  if (/^[+-]?[\d.]*e/i.test(text))
    return 'Write the amount as a plain decimal such as "0.000001", not in exponent notation.';
  if (text.startsWith("-")) return "Must not be negative.";
  if (text.startsWith("+")) return 'Write the amount without a sign, e.g. "12.50".';
  if (!PLAIN.test(text)) return 'Must be a decimal number of US dollars, e.g. "12.50".';
  const frac = text.split(".")[1] ?? "";
  if (frac.length > decimals)
    return decimals === 2 ? "At most 2 decimal places (whole cents)." : `At most ${decimals} decimal places.`;
  if (parseUsd(text) > max) return `At most ${formatUsd(max).replace(/\.?0+$/, "")} USD.`;
  return null;
}

/** A money field: a string or number in, exact micro-USD (`bigint`) out. */
export function usdField(opts: UsdFieldOptions) {
  const decimals = opts.decimals ?? USD_DECIMALS;
  const max = parseUsd(opts.max);
  return z
    .union([z.string(), z.number()], { error: 'Must be a USD amount: a decimal string such as "12.50", or a number.' })
    .transform((v, ctx) => {
      const why = problem(v, decimals, max);
      if (why) {
        ctx.addIssue({ code: "custom", message: why });
        return z.NEVER;
      }
      return parseUsd(v);
    });
}
