/**
 * Exact money: every amount is an integer number of micro-USD (`bigint`).
 * Decimal USD input is parsed digit by digit, never through a JS float, so
 * "0.1" is exactly 100000 micro-USD; more than six decimals is an error rather
 * than a silent rounding. Output is a fixed six-decimal string.
 */

export const MICRO_PER_USD = 1_000_000n;
export const USD_DECIMALS = 6;

export class MoneyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MoneyFormatError";
  }
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$|^(-)?\.(\d+)$/;

/**
 * Parses a USD amount ("12.5", "0.000001", 12.5) into micro-USD.
 * Numbers are accepted only when their shortest decimal form is plain
 * (no exponent): 12.5 → "12.5"; 1e21 or NaN are refused.
 */
export function parseUsd(input: string | number, opts: { allowNegative?: boolean } = {}): bigint {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new MoneyFormatError("Amount must be a finite number.");
    text = String(input);
    if (/e/i.test(text)) throw new MoneyFormatError('Write the amount as a plain decimal, e.g. "12.50".');
  } else {
    text = input.trim();
  }
  const m = DECIMAL.exec(text);
  if (!m) throw new MoneyFormatError('Amount must be a decimal number of US dollars, e.g. "12.50".');
  const negative = Boolean(m[1] ?? m[4]);
  const whole = m[2] ?? "0";
  const frac = m[3] ?? m[5] ?? "";
  if (frac.length > USD_DECIMALS) throw new MoneyFormatError(`Amounts have at most ${USD_DECIMALS} decimal places.`);
  const micro = BigInt(whole) * MICRO_PER_USD + BigInt(frac.padEnd(USD_DECIMALS, "0") || "0");
  if (negative && micro !== 0n && !opts.allowNegative) throw new MoneyFormatError("Amount must not be negative.");
  return negative ? -micro : micro;
}

/** micro-USD → "12.500000" (always six decimals; "-" for negative amounts). */
export function formatUsd(micro: bigint): string {
  const sign = micro < 0n ? "-" : "";
  const abs = micro < 0n ? -micro : micro;
  const whole = abs / MICRO_PER_USD;
  const frac = (abs % MICRO_PER_USD).toString().padStart(USD_DECIMALS, "0");
  return `${sign}${whole}.${frac}`;
}
