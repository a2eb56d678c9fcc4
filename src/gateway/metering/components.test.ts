/**
 * Every price component, long-context tiers, the hold's bounds and the
 * library's prices as converted. The component property test checks the
 * bucketed cost against an independent formulation: everything at the plain
 * input and output rates, plus, per component, its tokens × (its rate − its
 * parent's rate), in exact BigInt arithmetic.
 */
import { describe, expect, it } from "vitest";
import { libraryModel } from "../catalog.js";
import type { PriceInfo, PriceRates } from "../hooks.js";
import { imageTokenCeiling, inputBound, inputTokensOn, outputTokensOn } from "../tokens.js";
import type { Usage } from "../types.js";
import { costMicroUsd, isFree, parsePriceOverrides, worstCaseMicroUsd } from "./cost.js";
import { createPricing } from "./pricing.js";

function rng(seed: number) {
  let s = BigInt(seed);
  return (max: number) => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number((s >> 33n) % BigInt(max));
  };
}

/** micro-USD, rounded up once: Σ tokens × rate (micro-USD per million) / 1e6. */
function reference(u: Required<Omit<Usage, "estimated">>, r: PriceRates): bigint {
  const inR = r.inputMicroUsdPerM;
  const outR = r.outputMicroUsdPerM;
  const cachedR = r.cachedInputMicroUsdPerM;
  const writeR = r.cacheWriteMicroUsdPerM ?? inR;
  const b = (n: number) => BigInt(n);
  let n = b(u.inputTokens) * inR + b(u.outputTokens) * outR;
  n += b(u.cachedInputTokens - u.cachedAudioInputTokens) * (cachedR - inR);
  n += b(u.cachedAudioInputTokens) * ((r.cachedAudioInputMicroUsdPerM ?? cachedR) - inR);
  n += b(u.cacheWriteInputTokens - u.cacheWrite1hInputTokens) * (writeR - inR);
  n += b(u.cacheWrite1hInputTokens) * ((r.cacheWrite1hMicroUsdPerM ?? writeR) - inR);
  n += b(u.audioInputTokens - u.cachedAudioInputTokens) * ((r.audioInputMicroUsdPerM ?? inR) - inR);
  n += b(u.imageInputTokens) * ((r.imageInputMicroUsdPerM ?? inR) - inR);
  n += b(u.reasoningTokens) * ((r.reasoningMicroUsdPerM ?? outR) - outR);
  n += b(u.audioOutputTokens) * ((r.audioOutputMicroUsdPerM ?? outR) - outR);
  n += b(u.imageOutputTokens) * ((r.imageOutputMicroUsdPerM ?? outR) - outR);
  n += (r.requestMicroUsdPerK ?? 0n) * 1_000n + b(u.webSearches) * (r.webSearchMicroUsdPerK ?? 0n) * 1_000n;
  n += b(u.fileSearches) * (r.fileSearchMicroUsdPerK ?? 0n) * 1_000n;
  return n <= 0n ? 0n : (n + 999_999n) / 1_000_000n;
}

function randomRates(r: (n: number) => number): PriceRates {
  const maybe = () => (r(2) === 0 ? undefined : BigInt(r(40_000_000)));
  return {
    inputMicroUsdPerM: BigInt(r(20_000_000)),
    cachedInputMicroUsdPerM: BigInt(r(5_000_000)),
    outputMicroUsdPerM: BigInt(r(80_000_000)),
    cacheWriteMicroUsdPerM: maybe(),
    cacheWrite1hMicroUsdPerM: maybe(),
    audioInputMicroUsdPerM: maybe(),
    cachedAudioInputMicroUsdPerM: maybe(),
    imageInputMicroUsdPerM: maybe(),
    reasoningMicroUsdPerM: maybe(),
    audioOutputMicroUsdPerM: maybe(),
    imageOutputMicroUsdPerM: maybe(),
    requestMicroUsdPerK: maybe(),
    webSearchMicroUsdPerK: maybe(),
    fileSearchMicroUsdPerK: maybe(),
  };
}

/** A consistent report: every part within its total, cached and written tokens disjoint. */
function randomUsage(r: (n: number) => number): Required<Omit<Usage, "estimated">> {
  const inputTokens = r(300_000);
  const cachedInputTokens = r(inputTokens + 1);
  const cacheWriteInputTokens = r(inputTokens - cachedInputTokens + 1);
  const rest = inputTokens - cachedInputTokens - cacheWriteInputTokens;
  const cachedAudioInputTokens = r(cachedInputTokens + 1);
  const uncachedAudio = r(rest + 1);
  const imageInputTokens = r(rest - uncachedAudio + 1);
  const outputTokens = r(100_000);
  const reasoningTokens = r(outputTokens + 1);
  const audioOutputTokens = r(outputTokens - reasoningTokens + 1);
  return {
    inputTokens,
    cachedInputTokens,
    cacheWriteInputTokens,
    cacheWrite1hInputTokens: r(cacheWriteInputTokens + 1),
    audioInputTokens: uncachedAudio + cachedAudioInputTokens,
    cachedAudioInputTokens,
    imageInputTokens,
    outputTokens,
    reasoningTokens,
    audioOutputTokens,
    imageOutputTokens: r(outputTokens - reasoningTokens - audioOutputTokens + 1),
    webSearches: r(5),
    fileSearches: r(5),
    // Billed only at a per-hour price, which these random rates do not set (cost.test.ts covers it).
    audioInputSeconds: r(600),
  };
}

describe("every price component", () => {
  it("equals the independent BigInt formulation for 5 000 random consistent reports and rates", () => {
    const r = rng(20261203);
    for (let i = 0; i < 5_000; i++) {
      const rates = randomRates(r);
      const usage = randomUsage(r);
      expect(costMicroUsd(usage, rates), JSON.stringify({ i, usage })).toBe(reference(usage, rates));
    }
  });

  it("never bills a token twice when a report's parts exceed their totals", () => {
    const rates: PriceRates = {
      inputMicroUsdPerM: 1_000_000n,
      cachedInputMicroUsdPerM: 1_000_000n,
      outputMicroUsdPerM: 1_000_000n,
      cacheWriteMicroUsdPerM: 1_000_000n,
      reasoningMicroUsdPerM: 1_000_000n,
    };
    // At one micro-USD per token for every part, the cost is the number of tokens: parts are clamped.
    expect(
      costMicroUsd(
        {
          inputTokens: 100,
          cachedInputTokens: 80,
          cacheWriteInputTokens: 80,
          audioInputTokens: 500,
          outputTokens: 10,
          reasoningTokens: 50,
        },
        rates,
      ),
    ).toBe(110n);
  });

  it("a long-context tier prices the whole request once the input exceeds it (Gemini 2.5 Pro above 200k)", () => {
    const pro = libraryModel("gemini", "gemini-2.5-pro")!.prices!;
    expect(pro.tiers).toEqual([
      {
        aboveInputTokens: 200_000,
        rates: { inputMicroUsdPerM: 2_500_000n, cachedInputMicroUsdPerM: 250_000n, outputMicroUsdPerM: 15_000_000n },
      },
    ]);
    expect(costMicroUsd({ inputTokens: 200_000, cachedInputTokens: 0, outputTokens: 1_000 }, pro)).toBe(
      (200_000n * 1_250_000n) / 1_000_000n + 10_000n,
    );
    expect(costMicroUsd({ inputTokens: 200_001, cachedInputTokens: 0, outputTokens: 1_000 }, pro)).toBe(
      (200_001n * 2_500_000n + 999_999n) / 1_000_000n + 15_000n,
    );
  });

  it("the hold covers every report within its token bounds, at any tier and component mix", () => {
    const r = rng(42);
    for (let i = 0; i < 3_000; i++) {
      const base = randomRates(r);
      const prices: PriceInfo = r(2)
        ? {
            ...base,
            tiers: [{ aboveInputTokens: r(200_000), rates: randomRates(r) }],
          }
        : base;
      const usage = randomUsage(r);
      const markup = BigInt(r(30_000_000));
      expect(costMicroUsd(usage, prices, markup), String(i)).toBeLessThanOrEqual(
        // Searches billed per call are bounded by the calls the request allows (max_tool_calls, max_uses).
        worstCaseMicroUsd(usage.inputTokens, usage.outputTokens, prices, markup, {
          toolCalls: (usage.webSearches ?? 0) + (usage.fileSearches ?? 0),
        }),
      );
    }
  });

  it("the library's prices arrive whole: Anthropic 5-minute and 1-hour cache writes, OpenAI audio, free and priced", () => {
    expect(libraryModel("anthropic", "claude-sonnet-4-0")!.prices).toMatchObject({
      inputMicroUsdPerM: 3_000_000n,
      cachedInputMicroUsdPerM: 300_000n,
      cacheWriteMicroUsdPerM: 3_750_000n,
      cacheWrite1hMicroUsdPerM: 6_000_000n,
      outputMicroUsdPerM: 15_000_000n,
    });
    // No cache-read price: cache reads are plain input.
    expect(libraryModel("openai", "o1-pro")!.prices).toMatchObject({
      inputMicroUsdPerM: 150_000_000n,
      cachedInputMicroUsdPerM: 150_000_000n,
      outputMicroUsdPerM: 600_000_000n,
    });
    expect(libraryModel("openai", "gpt-4o-mini-2024-07-18")!.prices).toMatchObject({
      inputMicroUsdPerM: 150_000n,
      outputMicroUsdPerM: 600_000n,
    });
    expect(libraryModel("openai", "no-such-model-zz")).toBeNull();
    // Web and file searches (the price library's storage_searches_kcount) are USD per thousand calls.
    expect(libraryModel("openai", "gpt-4.1")!.prices).toMatchObject({
      webSearchMicroUsdPerK: 10_000_000n,
      fileSearchMicroUsdPerK: 2_500_000n,
    });
    expect(isFree({ inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n })).toBe(true);
    expect(
      isFree({ inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n, requestMicroUsdPerK: 1n }),
    ).toBe(false);
    expect(
      isFree({
        inputMicroUsdPerM: 0n,
        cachedInputMicroUsdPerM: 0n,
        outputMicroUsdPerM: 0n,
        fileSearchMicroUsdPerK: 1n,
      }),
    ).toBe(false);
  });

  it("pricing order: custom provider, operator override (with markup), library (with markup), mock free, else unpriced", () => {
    const pricing = createPricing({
      priceOverrides: '{"openai/gpt-4o": {"input": "1", "output": "2"}, "mock/echo": {"input": "3"}}',
      markupPercent: "10",
    });
    const lib = libraryModel("openai", "gpt-4o-mini")!.prices;
    expect(pricing.of({ provider: "openai", model: "gpt-4o", custom: false, prices: lib })).toMatchObject({
      prices: { inputMicroUsdPerM: 1_000_000n, outputMicroUsdPerM: 2_000_000n },
      markup: 10_000_000n,
      free: false,
    });
    expect(pricing.of({ provider: "openai", model: "gpt-4o-mini", custom: false, prices: lib })).toMatchObject({
      prices: lib,
      markup: 10_000_000n,
    });
    expect(pricing.of({ provider: "mock", model: "echo", custom: false, prices: null })!.prices.inputMicroUsdPerM).toBe(
      3_000_000n,
    );
    expect(pricing.of({ provider: "mock", model: "lorem", custom: false, prices: null })).toMatchObject({ free: true });
    expect(pricing.of({ provider: "acme", model: "m", custom: true, prices: null })).toMatchObject({
      free: true,
      markup: 0n,
    });
    expect(pricing.of({ provider: "openai", model: "unknown", custom: false, prices: null })).toBeNull();
  });

  it("operator overrides take every component and refuse unknown ones", () => {
    const o = parsePriceOverrides(
      '{"anthropic/x": {"input": "3", "cacheWrite": "3.75", "cacheWrite1h": "6", "output": "15", "reasoning": "20", "perThousandRequests": "5"}}',
    ).get("anthropic/x");
    expect(o).toEqual({
      inputMicroUsdPerM: 3_000_000n,
      cachedInputMicroUsdPerM: 3_000_000n,
      outputMicroUsdPerM: 15_000_000n,
      cacheWriteMicroUsdPerM: 3_750_000n,
      cacheWrite1hMicroUsdPerM: 6_000_000n,
      reasoningMicroUsdPerM: 20_000_000n,
      requestMicroUsdPerK: 5_000_000n,
    });
    expect(parsePriceOverrides('{"openai/x": {"perThousandFileSearches": "2.5"}}').get("openai/x")).toMatchObject({
      fileSearchMicroUsdPerK: 2_500_000n,
    });
    expect(() => parsePriceOverrides('{"a/b": {"inptu": "1"}}')).toThrow(/unknown price "inptu"/);
  });
});

describe("the hold's token bounds", () => {
  it("input: UTF-8 bytes of all text sent (CJK at 3 bytes a character, schemas and tools in full), images at their provider's ceiling", () => {
    const b = inputBound({ model: "m", messages: [{ role: "user", content: "漢字".repeat(10) }] });
    expect(b).toEqual({ tokens: 16 + 8 + 60, images: 0 });
    const schema = {
      type: "json_schema" as const,
      json_schema: { name: "s", schema: { description: "x".repeat(1000) } },
    };
    const withSchema = inputBound({ model: "m", messages: [{ role: "user", content: "hi" }], response_format: schema });
    expect(withSchema.tokens).toBe(16 + 8 + 2 + 600 + Buffer.byteLength(JSON.stringify(schema)));
    const img = inputBound({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(100_000)}` } },
          ],
        },
      ],
    });
    expect(img).toEqual({ tokens: 16 + 8 + 4, images: 1 });
    expect(inputTokensOn({ format: "openai", model: "gpt-4o-mini" }, img)).toBe(28 + 48_169);
    expect(imageTokenCeiling({ format: "anthropic", model: "claude-sonnet-4-0" })).toBe(5_000);
  });

  it("output: n × the request's limit, else the adapter's default, else the model's maximum or context window", () => {
    expect(outputTokensOn({ format: "openai", contextWindow: 200_000 }, null, 1)).toBe(200_000);
    expect(outputTokensOn({ format: "openai", contextWindow: 200_000 }, 100, 4)).toBe(400);
    expect(outputTokensOn({ format: "openai", maxOutputTokens: 1_000, contextWindow: 200_000 }, 5_000, 1)).toBe(1_000);
    expect(outputTokensOn({ format: "anthropic", contextWindow: 200_000 }, null, 1)).toBe(4_096);
    expect(outputTokensOn({ format: "openai" }, null, 2)).toBe(65_536);
  });
});
