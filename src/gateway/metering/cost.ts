/**
 * Cost of a request in integer micro-USD. One rounding rule: the exact
 * product tokens × price (micro-USD per million tokens) × (1 + markup) is
 * computed as a bigint fraction and rounded UP once, at the end, to a whole
 * micro-USD — so a request is never billed below its true cost and a sum of
 * requests never drifts (no per-component rounding, no floats).
 */
import type { PriceInfo, PriceRates } from "../hooks.js";
import type { Usage } from "../types.js";
import { MoneyFormatError, parseUsd } from "../../platform/money.js";

const PER_MILLION = 1_000_000n;
/** Markup is held in micro-percent: 12.5 % → 12_500_000. */
export const HUNDRED_PERCENT = 100_000_000n;

export interface Tokens {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

export const ceilDiv = (a: bigint, b: bigint): bigint => (a <= 0n ? 0n : (a + b - 1n) / b);

const count = (n: number | undefined): bigint => (n === undefined || !(n > 0) ? 0n : BigInt(Math.trunc(n)));
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The rates that apply to a request with this many input tokens (the last tier it exceeds, else the base). */
export function ratesFor(prices: PriceInfo, inputTokens: number): PriceRates {
  let rates: PriceRates = prices;
  if (prices.tiers) for (const t of prices.tiers) if (inputTokens > t.aboveInputTokens) rates = t.rates;
  return rates;
}

/**
 * Exact cost numerator of one request in micro-USD × 1 000 000 (before markup).
 * Usage parts are split into disjoint buckets, each at its own rate or, when the
 * price has none, at its parent's: cache reads (audio ones at the cached-audio
 * rate), cache writes (one-hour ones at their rate), audio, images, the rest of
 * the input; reasoning, audio, images, the rest of the output. Parts are clamped
 * to their totals, so an inconsistent report can never bill a token twice.
 */
function numerator(u: Usage, r: PriceRates): bigint {
  const input = count(u.inputTokens);
  const output = count(u.outputTokens);
  const cached = min(count(u.cachedInputTokens), input);
  const cachedAudio = min(count(u.cachedAudioInputTokens), cached);
  const write = min(count(u.cacheWriteInputTokens), input - cached);
  const write1h = min(count(u.cacheWrite1hInputTokens), write);
  const audio = min(
    count(u.audioInputTokens) - cachedAudio > 0n ? count(u.audioInputTokens) - cachedAudio : 0n,
    input - cached - write,
  );
  const image = min(count(u.imageInputTokens), input - cached - write - audio);
  const plainIn = input - cached - write - audio - image;
  const reasoning = min(count(u.reasoningTokens), output);
  const audioOut = min(count(u.audioOutputTokens), output - reasoning);
  const imageOut = min(count(u.imageOutputTokens), output - reasoning - audioOut);
  const plainOut = output - reasoning - audioOut - imageOut;

  const inRate = r.inputMicroUsdPerM;
  const writeRate = r.cacheWriteMicroUsdPerM ?? inRate;
  const audioRate = r.audioInputMicroUsdPerM ?? inRate;
  const outRate = r.outputMicroUsdPerM;
  let n =
    plainIn * inRate +
    (cached - cachedAudio) * r.cachedInputMicroUsdPerM +
    cachedAudio * (r.cachedAudioInputMicroUsdPerM ?? r.cachedInputMicroUsdPerM) +
    (write - write1h) * writeRate +
    write1h * (r.cacheWrite1hMicroUsdPerM ?? writeRate) +
    audio * audioRate +
    image * (r.imageInputMicroUsdPerM ?? inRate) +
    plainOut * outRate +
    reasoning * (r.reasoningMicroUsdPerM ?? outRate) +
    audioOut * (r.audioOutputMicroUsdPerM ?? outRate) +
    imageOut * (r.imageOutputMicroUsdPerM ?? outRate);
  // Per-thousand fees: count × price / 1000 micro-USD = count × price × 1000 / 1e6.
  if (r.requestMicroUsdPerK) n += r.requestMicroUsdPerK * 1_000n;
  if (r.webSearchMicroUsdPerK) n += count(u.webSearches) * r.webSearchMicroUsdPerK * 1_000n;
  if (r.fileSearchMicroUsdPerK) n += count(u.fileSearches) * r.fileSearchMicroUsdPerK * 1_000n;
  if (r.audioInputMicroUsdPerHour) n += audioNumerator(u.audioInputSeconds, r.audioInputMicroUsdPerHour);
  return n;
}

/**
 * Seconds of audio at a per-hour price, as a numerator (micro-USD × 1 000 000): whole milliseconds
 * (rounded up) × price / 3 600 000 ms, rounded up — never below the exact amount.
 */
function audioNumerator(seconds: number | undefined, perHour: bigint): bigint {
  if (seconds === undefined || !(seconds > 0)) return 0n;
  const ms = BigInt(Math.ceil(seconds * 1000));
  return ceilDiv(ms * perHour * 10n, 36n);
}

/** What a request costs: its usage × the prices (tier by its input tokens) × (1 + markup), rounded up once. */
export function costMicroUsd(usage: Usage, prices: PriceInfo, markupMicroPercent = 0n): bigint {
  const n = numerator(usage, ratesFor(prices, usage.inputTokens));
  return ceilDiv(n * (HUNDRED_PERCENT + markupMicroPercent), PER_MILLION * HUNDRED_PERCENT);
}

const max = (a: bigint, b: bigint | undefined) => (b !== undefined && b > a ? b : a);

/** The dearest rate any input token / output token can be billed at, over every tier up to `inputTokens`. */
function dearest(
  prices: PriceInfo,
  inputTokens: number,
): { input: bigint; output: bigint; request: bigint; audioHour: bigint; toolCall: bigint } {
  let input = 0n;
  let output = 0n;
  let request = 0n;
  let audioHour = 0n;
  let toolCall = 0n;
  const take = (r: PriceRates) => {
    input = max(
      max(
        max(
          max(max(max(input, r.inputMicroUsdPerM), r.cachedInputMicroUsdPerM), r.cacheWriteMicroUsdPerM),
          r.cacheWrite1hMicroUsdPerM,
        ),
        r.audioInputMicroUsdPerM,
      ),
      r.imageInputMicroUsdPerM,
    );
    input = max(input, r.cachedAudioInputMicroUsdPerM);
    output = max(
      max(max(max(output, r.outputMicroUsdPerM), r.reasoningMicroUsdPerM), r.audioOutputMicroUsdPerM),
      r.imageOutputMicroUsdPerM,
    );
    request = max(request, r.requestMicroUsdPerK);
    audioHour = max(audioHour, r.audioInputMicroUsdPerHour);
    toolCall = max(max(toolCall, r.webSearchMicroUsdPerK), r.fileSearchMicroUsdPerK);
  };
  take(prices);
  if (prices.tiers) for (const t of prices.tiers) if (inputTokens > t.aboveInputTokens) take(t.rates);
  return { input, output, request, audioHour, toolCall };
}

/**
 * Upper bound before the call: every input token at the dearest input rate (cache
 * writes can cost more than plain input), every output token at the dearest
 * output rate, in the dearest tier the input can reach, and `audioSeconds` of audio
 * at a per-hour price. Web and file searches are not bounded (their number is the
 * model's choice); they are charged when reported.
 */
export function worstCaseMicroUsd(
  inputTokens: number,
  outputTokens: number,
  prices: PriceInfo,
  markupMicroPercent = 0n,
  /**
   * `audioSeconds`: input audio billed per hour; `toolCalls`: server-side tool calls billed per call (web and
   * file searches) the request allows at most.
   */
  extra: { audioSeconds?: number; toolCalls?: number } = {},
): bigint {
  const d = dearest(prices, inputTokens);
  const n =
    count(inputTokens) * d.input +
    count(outputTokens) * d.output +
    d.request * 1_000n +
    count(extra.toolCalls) * d.toolCall * 1_000n +
    (d.audioHour ? audioNumerator(extra.audioSeconds, d.audioHour) : 0n);
  return ceilDiv(n * (HUNDRED_PERCENT + markupMicroPercent), PER_MILLION * HUNDRED_PERCENT);
}

/** True when nothing in these prices costs money (a free model: no hold, never refused for credits). */
export function isFree(prices: PriceInfo): boolean {
  const d = dearest(prices, Number.MAX_SAFE_INTEGER);
  return (
    d.input === 0n &&
    d.output === 0n &&
    d.request === 0n &&
    d.audioHour === 0n &&
    !prices.webSearchMicroUsdPerK &&
    !prices.fileSearchMicroUsdPerK &&
    !(prices.tiers ?? []).some((t) => t.rates.webSearchMicroUsdPerK || t.rates.fileSearchMicroUsdPerK)
  );
}

export function usageTokens(u: Usage | undefined): Tokens {
  return {
    inputTokens: u?.inputTokens ?? 0,
    cachedInputTokens: u?.cachedInputTokens ?? 0,
    outputTokens: u?.outputTokens ?? 0,
  };
}

/** "12.5" (percent) → 12_500_000 micro-percent. */
export function parseMarkupPercent(text: string): bigint {
  return parseUsd(text);
}

export type PriceOverrides = Map<string, PriceInfo>;

/** Override field (USD per million tokens; per thousand for the fees) → PriceRates field. */
const OVERRIDE_FIELDS: Record<string, keyof PriceRates> = {
  input: "inputMicroUsdPerM",
  cachedInput: "cachedInputMicroUsdPerM",
  output: "outputMicroUsdPerM",
  cacheWrite: "cacheWriteMicroUsdPerM",
  cacheWrite1h: "cacheWrite1hMicroUsdPerM",
  audioInput: "audioInputMicroUsdPerM",
  cachedAudioInput: "cachedAudioInputMicroUsdPerM",
  imageInput: "imageInputMicroUsdPerM",
  reasoning: "reasoningMicroUsdPerM",
  audioOutput: "audioOutputMicroUsdPerM",
  imageOutput: "imageOutputMicroUsdPerM",
  perThousandRequests: "requestMicroUsdPerK",
  perThousandWebSearches: "webSearchMicroUsdPerK",
  perThousandFileSearches: "fileSearchMicroUsdPerK",
  audioInputPerHour: "audioInputMicroUsdPerHour",
};

/**
 * TOLLGATE_PRICE_OVERRIDES: `{"openai/gpt-4o": {"input": "2.5", "cachedInput": "1.25", "output": "10"}}`,
 * USD per million tokens. An override replaces the library's price of that model whole: `cachedInput`
 * defaults to `input`, a missing `input`/`output` is 0, and other components default to their parent's rate.
 */
export function parsePriceOverrides(json: string): PriceOverrides {
  const out: PriceOverrides = new Map();
  if (!json.trim()) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new MoneyFormatError("TOLLGATE_PRICE_OVERRIDES must be JSON.");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new MoneyFormatError("TOLLGATE_PRICE_OVERRIDES must be an object keyed by provider/model.");
  for (const [model, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!model.includes("/"))
      throw new MoneyFormatError(`TOLLGATE_PRICE_OVERRIDES: "${model}" must be provider/model.`);
    const p = (v ?? {}) as Record<string, unknown>;
    const unknown = Object.keys(p).filter((k) => !(k in OVERRIDE_FIELDS));
    if (unknown.length)
      throw new MoneyFormatError(
        `TOLLGATE_PRICE_OVERRIDES: "${model}" has unknown price ${unknown.map((k) => `"${k}"`).join(", ")}; known: ${Object.keys(OVERRIDE_FIELDS).join(", ")}.`,
      );
    const price: PriceInfo = { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n };
    for (const [k, field] of Object.entries(OVERRIDE_FIELDS))
      if (p[k] !== undefined) price[field] = parseUsd(p[k] as string | number);
    if (p.cachedInput === undefined) price.cachedInputMicroUsdPerM = price.inputMicroUsdPerM;
    out.set(model, price);
  }
  return out;
}
