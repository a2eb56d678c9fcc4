/**
 * Cost of a request in integer micro-USD. One rounding rule: the exact
 * product tokens × price (micro-USD per million tokens) × (1 + markup) is
 * computed as a bigint fraction and rounded UP once, at the end, to a whole
 * micro-USD — so a request is never billed below its true cost and a sum of
 * requests never drifts (no per-component rounding, no floats).
 */
import type { PriceInfo } from "../hooks.js";
import type { Usage } from "../types.js";
import { MoneyFormatError, parseUsd } from "../../platform/money.js";

const PER_MILLION = 1_000_000n;
/** Markup is held in micro-percent: 12.5 % → 12_500_000. */
const HUNDRED_PERCENT = 100_000_000n;

export interface Tokens {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

export const ceilDiv = (a: bigint, b: bigint): bigint => (a <= 0n ? 0n : (a + b - 1n) / b);

export function costMicroUsd(usage: Tokens, prices: PriceInfo, markupMicroPercent = 0n): bigint {
  const input = BigInt(Math.max(0, Math.trunc(usage.inputTokens)));
  const cached = BigInt(Math.max(0, Math.min(Math.trunc(usage.cachedInputTokens), Math.trunc(usage.inputTokens))));
  const output = BigInt(Math.max(0, Math.trunc(usage.outputTokens)));
  // inputTokens includes the cached ones (OpenAI's convention, which the adapters normalise to).
  const numerator = (input - cached) * prices.inputMicroUsdPerM + cached * prices.cachedInputMicroUsdPerM + output * prices.outputMicroUsdPerM;
  return ceilDiv(numerator * (HUNDRED_PERCENT + markupMicroPercent), PER_MILLION * HUNDRED_PERCENT);
}

/** Worst case before the call: every input token uncached, the whole output budget used. */
export function worstCaseMicroUsd(estimatedInputTokens: number, maxOutputTokens: number, prices: PriceInfo, markupMicroPercent = 0n): bigint {
  // Whichever input rate is higher (a cache-write rate can exceed the plain one), for every input token.
  const inputRate = prices.inputMicroUsdPerM > prices.cachedInputMicroUsdPerM ? prices.inputMicroUsdPerM : prices.cachedInputMicroUsdPerM;
  const p = { ...prices, inputMicroUsdPerM: inputRate };
  return costMicroUsd({ inputTokens: estimatedInputTokens, cachedInputTokens: 0, outputTokens: maxOutputTokens }, p, markupMicroPercent);
}

export function usageTokens(u: Usage | undefined): Tokens {
  return { inputTokens: u?.inputTokens ?? 0, cachedInputTokens: u?.cachedInputTokens ?? 0, outputTokens: u?.outputTokens ?? 0 };
}

/** "12.5" (percent) → 12_500_000 micro-percent. */
export function parseMarkupPercent(text: string): bigint {
  return parseUsd(text);
}

export type PriceOverrides = Map<string, PriceInfo>;

/** TOLLGATE_PRICE_OVERRIDES: `{"openai/gpt-4o": {"input": "2.5", "cachedInput": "1.25", "output": "10"}}`, USD per million tokens. */
export function parsePriceOverrides(json: string): PriceOverrides {
  const out: PriceOverrides = new Map();
  if (!json.trim()) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new MoneyFormatError("TOLLGATE_PRICE_OVERRIDES must be JSON.");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new MoneyFormatError("TOLLGATE_PRICE_OVERRIDES must be an object keyed by provider/model.");
  for (const [model, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!model.includes("/")) throw new MoneyFormatError(`TOLLGATE_PRICE_OVERRIDES: "${model}" must be provider/model.`);
    const p = (v ?? {}) as Record<string, unknown>;
    const usd = (k: string) => (p[k] === undefined ? 0n : parseUsd(p[k] as string | number));
    const input = usd("input");
    out.set(model, { inputMicroUsdPerM: input, cachedInputMicroUsdPerM: p.cachedInput === undefined ? input : usd("cachedInput"), outputMicroUsdPerM: usd("output") });
  }
  return out;
}
