/**
 * The built-in providers and the model price catalog.
 * - Built-in providers come from the instance config (OPENAI_*, ANTHROPIC_*,
 *   GEMINI_*); a provider is available when its key or base URL is set. The
 *   `mock` provider is always available so Tollgate can be tried without any
 *   provider account.
 * - Prices come from the maintained @pydantic/genai-prices data, converted once
 *   per model to integer micro-USD per million tokens (bigint; the library's
 *   decimal USD values are rounded to the micro-dollar, which is exact for every
 *   published price). Unknown models have `prices: null`; billing decides.
 * - Bare model names are mapped to a provider by well-known prefixes.
 */
import { calcPrice } from "@pydantic/genai-prices";
import type { Config } from "../config.js";
import type { PriceInfo } from "./hooks.js";
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

/** USD per million tokens (a JS number from the price data) → micro-USD per million tokens. */
export function usdPerMillionToMicro(v: unknown): bigint {
  const n = typeof v === "number" ? v : v && typeof v === "object" && "base" in v && typeof (v as { base: unknown }).base === "number" ? (v as { base: number }).base : 0;
  if (!Number.isFinite(n) || n <= 0) return 0n;
  return BigInt(Math.round(n * 1_000_000));
}

const priceCache = new Map<string, ModelInfo | null>();

/** Price and context window of a built-in provider's model from the price library (cached). */
export function libraryModel(providerSlug: string, model: string): ModelInfo | null {
  const key = `${providerSlug}/${model}`;
  const hit = priceCache.get(key);
  if (hit !== undefined) return hit;
  const libId = LIBRARY_PROVIDER[providerSlug];
  let info: ModelInfo | null = null;
  if (libId) {
    const r = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: libId });
    if (r) {
      const p = r.model_price as Record<string, unknown>;
      info = {
        id: model,
        contextWindow: r.model.context_window,
        prices: {
          inputMicroUsdPerM: usdPerMillionToMicro(p.input_mtok),
          cachedInputMicroUsdPerM: usdPerMillionToMicro(p.cache_read_mtok ?? p.input_mtok),
          outputMicroUsdPerM: usdPerMillionToMicro(p.output_mtok),
        },
        embeddings: /embed/.test(model),
      };
    }
  }
  priceCache.set(key, info);
  return info;
}

/** The mock provider's models: priced like a small model so billing can be tried for real. */
export const MOCK_MODELS: ModelInfo[] = [
  { id: "echo", contextWindow: 128_000, maxOutputTokens: 4096, prices: { inputMicroUsdPerM: 150_000n, cachedInputMicroUsdPerM: 75_000n, outputMicroUsdPerM: 600_000n } },
  { id: "lorem", contextWindow: 128_000, maxOutputTokens: 4096, prices: { inputMicroUsdPerM: 150_000n, cachedInputMicroUsdPerM: 75_000n, outputMicroUsdPerM: 600_000n } },
  { id: "embed", contextWindow: 8192, prices: { inputMicroUsdPerM: 20_000n, cachedInputMicroUsdPerM: 20_000n, outputMicroUsdPerM: 0n }, embeddings: true },
];

/** Well-known model names offered in /v1/models per built-in provider (any other name still routes). */
const FEATURED: Record<string, string[]> = {
  openai: ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "text-embedding-3-small", "text-embedding-3-large"],
  anthropic: ["claude-3-5-haiku-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-0", "claude-opus-4-0"],
  gemini: ["gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004"],
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
    for (const id of FEATURED[slug] ?? []) {
      const info = libraryModel(slug, id);
      if (info) models.set(id, info);
    }
    out.set(slug, { slug, name, format, baseUrl: (c.baseUrl ?? DEFAULT_BASE[slug]!).replace(/\/+$/, ""), apiKey: c.apiKey, custom: false, models, openModelList: true });
  };
  add("openai", "OpenAI", "openai");
  add("anthropic", "Anthropic", "anthropic");
  add("gemini", "Google Gemini", "gemini");
  out.set("mock", { slug: "mock", name: "Mock (no account needed)", format: "mock", baseUrl: "mock://local", custom: false, models: new Map(MOCK_MODELS.map((m) => [m.id, m])), openModelList: false });
  return out;
}

/** The built-in provider a bare model name belongs to, by well-known prefixes. */
export function providerForBareModel(model: string): string | null {
  if (/^(gpt-|o[1-9](-|$)|chatgpt-|text-embedding-3|text-embedding-ada|davinci|babbage)/.test(model)) return "openai";
  if (/^claude-/.test(model)) return "anthropic";
  if (/^(gemini-|text-embedding-004|gemma-)/.test(model)) return "gemini";
  return null;
}
