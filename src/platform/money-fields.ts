/**
 * Money in responses (and audit rows, alert payloads): every amount goes out as
 * a pair of fields, `<name>MicroUsd` (the exact integer, as a string) and
 * `<name>Usd` (six decimals, `formatUsd`), in that order. `moneyFields` is the
 * pair's zod shape, `moneyValues` its values; both take the same name, so a
 * schema and its mapper cannot drift apart. The input side is money-input.ts.
 */
import { z } from "zod";
import { formatUsd } from "./money.js";

type PairKey<N extends string> = `${N}MicroUsd` | `${N}Usd`;
export type MoneyPair<N extends string, V> = { [K in PairKey<N>]: V };

/** `{ <name>MicroUsd: string, <name>Usd: string }`, both nullable with `{ nullable: true }`. */
export function moneyFields<N extends string>(name: N): MoneyPair<N, z.ZodString>;
export function moneyFields<N extends string>(
  name: N,
  opts: { nullable: true },
): MoneyPair<N, z.ZodNullable<z.ZodString>>;
export function moneyFields(name: string, opts?: { nullable: true }) {
  const field = () => (opts?.nullable ? z.string().nullable() : z.string());
  return { [`${name}MicroUsd`]: field(), [`${name}Usd`]: field() };
}

/** The pair's values for an amount in micro-USD; both null for a null amount. */
export function moneyValues<N extends string>(name: N, micro: bigint | number): MoneyPair<N, string>;
export function moneyValues<N extends string>(name: N, micro: bigint | number | null): MoneyPair<N, string | null>;
export function moneyValues(name: string, micro: bigint | number | null) {
  if (micro === null) return { [`${name}MicroUsd`]: null, [`${name}Usd`]: null };
  const exact = BigInt(micro);
  return { [`${name}MicroUsd`]: exact.toString(), [`${name}Usd`]: formatUsd(exact) };
}
