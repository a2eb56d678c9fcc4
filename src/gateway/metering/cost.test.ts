/**
 * Money arithmetic against an independent BigInt reference (property tests
 * with a seeded generator: the same cases every run, thousands of them).
 * The reference works from USD decimal strings and rational arithmetic; the
 * code under test works from micro-USD per million tokens.
 */
import { describe, expect, it } from "vitest";
import { formatUsd, parseUsd } from "../../platform/money.js";
import { ceilDiv, costMicroUsd, parseMarkupPercent, parsePriceOverrides, worstCaseMicroUsd } from "./cost.js";

function rng(seed: number) {
  let s = BigInt(seed);
  return (max: number) => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number((s >> 33n) % BigInt(max));
  };
}

/** A USD amount as text with up to 6 decimals, e.g. "12.034" — what an operator or a price list writes. */
function usdText(r: (n: number) => number): string {
  const whole = r(3) === 0 ? 0 : r(100);
  const decimals = r(7);
  const frac = Array.from({ length: decimals }, () => r(10)).join("");
  return decimals ? `${whole}.${frac}` : String(whole);
}

/** Reference: exact rational cost in USD as numerator/denominator bigints, rounded up to 1e-6 USD. */
function referenceCost(
  tokens: { input: number; cached: number; output: number },
  prices: { input: string; cached: string; output: string },
  markupPct: string,
): bigint {
  const frac = (t: string): [bigint, bigint] => {
    const [w, f = ""] = t.split(".");
    return [BigInt(w! + f), 10n ** BigInt(f.length)];
  };
  // USD per token = price / 1e6; total = Σ tokens × price / 1e6 × (100 + pct) / 100
  let num = 0n;
  let den = 1n;
  const addTerm = (n: bigint, d: bigint) => {
    num = num * d + n * den;
    den = den * d;
  };
  const [pi, pid] = frac(prices.input);
  const [pc, pcd] = frac(prices.cached);
  const [po, pod] = frac(prices.output);
  addTerm(BigInt(tokens.input - tokens.cached) * pi, pid * 1_000_000n);
  addTerm(BigInt(tokens.cached) * pc, pcd * 1_000_000n);
  addTerm(BigInt(tokens.output) * po, pod * 1_000_000n);
  const [m, md] = frac(markupPct);
  num = num * (100n * md + m);
  den = den * 100n * md;
  // to micro-USD, rounded up
  const micro = num * 1_000_000n;
  return micro === 0n ? 0n : (micro + den - 1n) / den;
}

describe("cost in micro-USD", () => {
  it("equals the BigInt reference for 5 000 random token counts, prices and markups (one round-up, no drift)", () => {
    const r = rng(20261129);
    for (let i = 0; i < 5_000; i++) {
      const input = r(5) === 0 ? 0 : r(2_000_000);
      const cached = r(3) === 0 ? 0 : r(input + 1);
      const output = r(5) === 0 ? 0 : r(200_000);
      const prices = { input: usdText(r), cached: usdText(r), output: usdText(r) };
      const markup = r(2) === 0 ? "0" : `${r(300)}.${r(10_000).toString().padStart(4, "0")}`;
      const got = costMicroUsd(
        { inputTokens: input, cachedInputTokens: cached, outputTokens: output },
        {
          inputMicroUsdPerM: parseUsd(prices.input),
          cachedInputMicroUsdPerM: parseUsd(prices.cached),
          outputMicroUsdPerM: parseUsd(prices.output),
        },
        parseMarkupPercent(markup),
      );
      expect(got, JSON.stringify({ input, cached, output, prices, markup })).toBe(
        referenceCost({ input, cached, output }, prices, markup),
      );
    }
  });

  it("the sum of many small requests is never below the exact total (rounding up per request, never lost)", () => {
    const prices = {
      inputMicroUsdPerM: parseUsd("0.15"),
      cachedInputMicroUsdPerM: parseUsd("0.075"),
      outputMicroUsdPerM: parseUsd("0.6"),
    };
    let sum = 0n;
    for (let i = 0; i < 1000; i++)
      sum += costMicroUsd({ inputTokens: 7, cachedInputTokens: 0, outputTokens: 3 }, prices);
    expect(sum).toBeGreaterThanOrEqual(ceilDiv(1000n * (7n * 150_000n + 3n * 600_000n), 1_000_000n));
    expect(sum).toBe(1000n * 3n); // each request: 2.85 micro-USD → 3
  });

  it("the worst case covers every outcome with at most that many tokens (settlement never exceeds the hold)", () => {
    const r = rng(7);
    for (let i = 0; i < 2_000; i++) {
      const prices = {
        inputMicroUsdPerM: BigInt(r(20_000_000)),
        cachedInputMicroUsdPerM: BigInt(r(30_000_000)),
        outputMicroUsdPerM: BigInt(r(80_000_000)),
      };
      const input = r(100_000);
      const maxOut = r(50_000);
      const markup = BigInt(r(50_000_000));
      const worst = worstCaseMicroUsd(input, maxOut, prices, markup);
      const cached = r(input + 1);
      expect(
        costMicroUsd({ inputTokens: input, cachedInputTokens: cached, outputTokens: r(maxOut + 1) }, prices, markup),
      ).toBeLessThanOrEqual(worst);
    }
  });

  it("parseUsd ∘ formatUsd is the identity on random micro-USD amounts, including negatives", () => {
    const r = rng(99);
    for (let i = 0; i < 5_000; i++) {
      const v = BigInt(r(1_000_000_000)) * BigInt(r(1_000_000_000)) * (r(2) ? 1n : -1n);
      expect(parseUsd(formatUsd(v), { allowNegative: true })).toBe(v);
    }
  });

  it("operator price overrides are parsed exactly and refuse malformed input", () => {
    const o = parsePriceOverrides('{"openai/gpt-4o": {"input": "2.5", "cachedInput": "1.25", "output": 10}}');
    expect(o.get("openai/gpt-4o")).toEqual({
      inputMicroUsdPerM: 2_500_000n,
      cachedInputMicroUsdPerM: 1_250_000n,
      outputMicroUsdPerM: 10_000_000n,
    });
    expect(() => parsePriceOverrides("{nope")).toThrow(/JSON/);
    expect(() => parsePriceOverrides('{"gpt-4o": {}}')).toThrow(/provider\/model/);
    expect(() => parsePriceOverrides('{"a/b": {"input": "0.0000001"}}')).toThrow(/decimal places/);
  });
});
