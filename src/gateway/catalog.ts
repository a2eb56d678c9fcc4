/**
 * The built-in providers and the model price catalog.
 * - Built-in providers come from the instance config (OPENAI_*, ANTHROPIC_*,
 *   GEMINI_*); a provider is available when its key or base URL is set. The
 *   `mock` provider is always available so Tollgate can be tried without any
 *   provider account.
 * - Prices come from the maintained @pydantic/genai-prices data for every model
 *   it knows, converted once per model to integer micro-USD per million tokens
 *   (bigint; the library's decimal USD values are rounded to the micro-dollar,
 *   which is exact for every published price), every component and long-context
 *   tier included. Unknown models have `prices: null`: billing refuses them
 *   unless the operator allows unpriced models.
 * - Bare model names are mapped to a provider by well-known prefixes.
 */
import { calcPrice, findProvider } from "@pydantic/genai-prices";
import type { Config } from "../config.js";
import type { PriceInfo, PriceRates } from "./hooks.js";
import type { ProviderFormat } from "./providers/types.js";

export interface ProviderEntry {
  slug: string;
  name: string;
  format: ProviderFormat;
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** An organization's custom provider (reached through the SSRF-guarded dispatcher). */
  custom: boolean;
  /** Known models; for custom providers the only ones routable. */
  models: Map<string, ModelInfo>;
  /** Built-ins accept model names beyond the known list (new releases); custom providers do not. */
  openModelList: boolean;
}

export interface ModelInfo {
  id: string;
  contextWindow?: number;
  maxOutputTokens?: number;
  prices: PriceInfo | null;
  embeddings?: boolean;
}

const LIBRARY_PROVIDER: Record<string, string> = { openai: "openai", anthropic: "anthropic", gemini: "google" };

type LibraryRate = number | { base: number; tiers: Array<{ start: number; price: number }> } | undefined;

/** USD per million tokens (or per thousand requests) from the price data → micro-USD (bigint). */
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
 * A built-in provider's model as the price library knows it (prices and context window),
 * for any model name the library matches (dated snapshots included), not only the featured
 * ones; null when the library does not know it. Cached per name.
 */
export function libraryModel(providerSlug: string, model: string): ModelInfo | null {
  const key = `${providerSlug}/${model}`;
  const hit = priceCache.get(key);
  if (hit !== undefined) return hit;
  const libId = LIBRARY_PROVIDER[providerSlug];
  let info: ModelInfo | null = null;
  if (libId) {
    const r = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: libId });
    if (r) {
      info = {
        id: model,
        contextWindow: r.model.context_window,
        prices: fromLibraryPrice(r.model_price as Record<string, unknown>),
        embeddings: /embed/.test(model),
      };
    }
  }
  if (priceCache.size > 10_000) priceCache.clear();
  priceCache.set(key, info);
  return info;
}

const FREE: PriceInfo = { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n };

/** The mock provider's models: free (the operator may price them in TOLLGATE_PRICE_OVERRIDES to try billing). */
export const MOCK_MODELS: ModelInfo[] = [
  { id: "echo", contextWindow: 128_000, maxOutputTokens: 4096, prices: FREE },
  { id: "lorem", contextWindow: 128_000, maxOutputTokens: 4096, prices: FREE },
  { id: "embed", contextWindow: 8192, prices: FREE, embeddings: true },
];

/**
 * Library entries a built-in provider's chat or embeddings API does not serve: legacy
 * completions, speech, transcription, image and video generation, realtime/live sessions,
 * moderation, OpenAI's Responses-only models (pro, deep research, codex, computer use), open
 * weights it does not host, fine-tune name patterns, other hosts' variants ("gpt-4o:extended")
 * and, under Google, the Vertex-only partner and MaaS models.
 */
const NOT_CHAT: Record<string, RegExp> = {
  openai:
    /^(ada|babbage|curie|davinci|text-davinci-\d+)$|instruct|^ft:|\.ft-|:|computer-use|codex|deep-research|-pro($|-)|^gpt-oss|transcribe|tts|whisper|moderation|realtime|image/,
  anthropic: /:/,
  gemini: /^claude-|-maas$|tts|live|image|omni|:/,
};

const libraryLists = new Map<string, string[]>();

/**
 * Every model id the price library lists for a built-in provider that its chat or
 * embeddings API serves: not deprecated, and priced under its own id (an entry whose
 * id its own match rule does not cover would be priced as another model, or not at all).
 * Computed once per provider.
 */
export function libraryModelIds(providerSlug: string): string[] {
  const hit = libraryLists.get(providerSlug);
  if (hit) return hit;
  const libId = LIBRARY_PROVIDER[providerSlug];
  const provider = libId ? findProvider({ providerId: libId }) : undefined;
  const skip = NOT_CHAT[providerSlug];
  const ids: string[] = [];
  for (const m of provider?.models ?? []) {
    if (m.deprecated || skip?.test(m.id)) continue;
    if (calcPrice({ input_tokens: 0, output_tokens: 0 }, m.id, { providerId: libId })?.model.id !== m.id) continue;
    ids.push(m.id);
  }
  libraryLists.set(providerSlug, ids);
  return ids;
}

/** Well-known model names offered in /v1/models per built-in provider, ahead of the rest of the library's (any other name still routes). */
const FEATURED: Record<string, string[]> = {
  openai: [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
  ],
  anthropic: ["claude-3-5-haiku-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-0", "claude-opus-4-0"],
  gemini: ["gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"],
};

const DEFAULT_BASE: Record<string, string> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
  gemini: "https://generativelanguage.googleapis.com",
};

export function builtInProviders(config: Config): Map<string, ProviderEntry> {
  const out = new Map<string, ProviderEntry>();
  const add = (slug: "openai" | "anthropic" | "gemini", name: string, format: ProviderFormat) => {
    const c = config.providers[slug];
    if (!c.apiKey && !c.baseUrl) return;
    const models = new Map<string, ModelInfo>();
    for (const id of [...(FEATURED[slug] ?? []), ...libraryModelIds(slug)]) {
      if (models.has(id)) continue;
      const info = libraryModel(slug, id);
      if (info) models.set(id, info);
    }
    out.set(slug, {
      slug,
      name,
      format,
      baseUrl: (c.baseUrl ?? DEFAULT_BASE[slug]!).replace(/\/+$/, ""),
      apiKey: c.apiKey,
      custom: false,
      models,
      openModelList: true,
    });
  };
  add("openai", "OpenAI", "openai");
  add("anthropic", "Anthropic", "anthropic");
  add("gemini", "Google Gemini", "gemini");
  out.set("mock", {
    slug: "mock",
    name: "Mock (no account needed)",
    format: "mock",
    baseUrl: "mock://local",
    custom: false,
    models: new Map(MOCK_MODELS.map((m) => [m.id, m])),
    openModelList: false,
  });
  return out;
}

/** The built-in provider a bare model name belongs to, by well-known prefixes. */
export function providerForBareModel(model: string): string | null {
  if (/^(gpt-|o[1-9](-|$)|chatgpt-|text-embedding-3|text-embedding-ada|davinci|babbage)/.test(model)) return "openai";
  if (/^claude-/.test(model)) return "anthropic";
  if (/^(gemini-|text-embedding-004|gemma-)/.test(model)) return "gemini";
  return null;
}
