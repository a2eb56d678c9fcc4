/** Display helpers. Money arrives as decimal strings and micro-USD integers; sums stay in BigInt. */

export function sumMicro(values: Array<string | null | undefined>): bigint {
  let total = 0n;
  for (const v of values) if (v) total += BigInt(v);
  return total;
}

/** Micro-USD → "$1.234567" trimmed to cents when the rest is zero. */
export function usd(micro: bigint | string | null | undefined): string {
  if (micro === null || micro === undefined) return "—";
  const m = typeof micro === "bigint" ? micro : BigInt(micro);
  const neg = m < 0n;
  const abs = neg ? -m : m;
  const whole = abs / 1_000_000n;
  let frac = (abs % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${neg ? "-" : ""}$${whole.toLocaleString("en-US")}.${frac}`;
}

export const num = (n: number) => n.toLocaleString("en-US");
export const dateTime = (iso: string) => new Date(iso).toLocaleString();
