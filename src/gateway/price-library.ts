/**
 * The maintained price library (@pydantic/genai-prices) as the gateway reads
 * it: a model's every price component, long-context tiers included, converted
 * once to integer micro-USD per million tokens (bigint; the library's decimal
 * USD values are rounded to the micro-dollar, which is exact for every
 * published price), and the models a library provider lists. Looked up by the
 * library's own provider id; the catalog maps providers and presets to those.
 */
import { calcPrice, findProvider } from "@pydantic/genai-prices";
import type { PriceInfo, PriceRates } from "./hooks.js";
import type { ModelInfo } from "./providers/descriptor.js";

type LibraryRate = number | { base: number; tiers: Array<{ start: number; price: number }> } | undefined;

/** USD per million tokens (per thousand requests, per hour of audio) from the price data → micro-USD (bigint). */
export function usdPerMillionToMicro(v: unknown): bigint {
  const n = typeof v === "number" ? v : 0;
  if (!Number.isFinite(n) || n <= 0) return 0n;
  return BigInt(Math.round(n * 1_000_000));
}

/** The library's price keys → our components (keys we do not list are not per-token prices of a chat call). */
const LIBRARY_KEYS: Array<[string, keyof PriceRates]> = [
  ["input_mtok", "inputMicroUsdPerM"],
  ["cache_read_mtok", "cachedInputMicroUsdPerM"],
  ["output_mtok", "outputMicroUsdPerM"],
  ["cache_write_mtok", "cacheWriteMicroUsdPerM"],
  ["cache_write_1h_mtok", "cacheWrite1hMicroUsdPerM"],
  ["input_audio_mtok", "audioInputMicroUsdPerM"],
  ["cache_audio_read_mtok", "cachedAudioInputMicroUsdPerM"],
  ["input_image_mtok", "imageInputMicroUsdPerM"],
  ["output_reasoning_mtok", "reasoningMicroUsdPerM"],
  ["output_audio_mtok", "audioOutputMicroUsdPerM"],
  ["output_image_mtok", "imageOutputMicroUsdPerM"],
  ["requests_kcount", "requestMicroUsdPerK"],
  ["web_searches_kcount", "webSearchMicroUsdPerK"],
  ["storage_searches_kcount", "fileSearchMicroUsdPerK"],
  ["input_audio_hours", "audioInputMicroUsdPerHour"],
];

/** The component's rate for a request whose input exceeds `above` tokens (-1: the base rate). */
function rateAt(v: LibraryRate, above: number): number | undefined {
  if (v === undefined || typeof v === "number") return v;
  let price = v.base;
  for (const t of v.tiers) if (above >= t.start) price = t.price;
  return price;
}

function ratesAt(p: Record<string, unknown>, above: number): PriceRates {
  const r: PriceRates = { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n };
  for (const [key, field] of LIBRARY_KEYS) {
    const v = rateAt(p[key] as LibraryRate, above);
    if (v !== undefined) r[field] = usdPerMillionToMicro(v);
  }
  // Without a cache-read price, cache reads are plain input (as the library prices them).
  if (p.cache_read_mtok === undefined) r.cachedInputMicroUsdPerM = r.inputMicroUsdPerM;
  return r;
}

/** Every component of the library's price, long-context tiers included, in micro-USD. */
export function fromLibraryPrice(p: Record<string, unknown>): PriceInfo {
  const price: PriceInfo = ratesAt(p, -1);
  const starts = new Set<number>();
  for (const v of Object.values(p))
    if (v && typeof v === "object" && Array.isArray((v as { tiers?: unknown }).tiers))
      for (const t of (v as { tiers: Array<{ start: number }> }).tiers) starts.add(t.start);
  // The library applies a tier when the input tokens exceed its start.
  if (starts.size)
    price.tiers = [...starts]
      .sort((a, b) => a - b)
      .map((start) => ({ aboveInputTokens: start, rates: ratesAt(p, start) }));
  return price;
}

const priceCache = new Map<string, ModelInfo | null>();

/**
 * A model as the price library's provider `libraryId` knows it (prices and context window), for any name
 * the library matches (dated snapshots included); null when it does not know it. Cached per name.
 */
export function libraryPriced(libraryId: string, model: string): ModelInfo | null {
  const key = `${libraryId}/${model}`;
  const hit = priceCache.get(key);
  if (hit !== undefined) return hit;
  let info: ModelInfo | null = null;
  const r = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: libraryId });
  if (r) {
    info = {
      id: model,
      contextWindow: r.model.context_window,
      prices: fromLibraryPrice(r.model_price as Record<string, unknown>),
      embeddings: /embed/.test(model),
    };
  }
  if (priceCache.size > 10_000) priceCache.clear();
  priceCache.set(key, info);
  return info;
}

const listCache = new Map<string, string[]>();

/**
 * Every model id the library's provider `libraryId` lists that is not deprecated, not `notServed`, and
 * priced under its own id (an entry whose id its own match rule does not cover would be priced as another
 * model, or not at all). Computed once per provider.
 */
export function libraryIds(libraryId: string, notServed?: RegExp): string[] {
  const hit = listCache.get(libraryId);
  if (hit) return hit;
  const ids: string[] = [];
  for (const m of findProvider({ providerId: libraryId })?.models ?? []) {
    if (m.deprecated || notServed?.test(m.id)) continue;
    if (calcPrice({ input_tokens: 0, output_tokens: 0 }, m.id, { providerId: libraryId })?.model.id !== m.id) continue;
    ids.push(m.id);
  }
  listCache.set(libraryId, ids);
  return ids;
}
