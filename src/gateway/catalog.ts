/**
 * The built-in providers and the model price catalog.
 * - Built-in providers are the registry's descriptors (providers/registry.ts):
 *   each names its instance config section (OPENAI_*, ANTHROPIC_*, GEMINI_*,
 *   AZURE_OPENAI_*, GOOGLE_VERTEX_*), and is available when its key or base
 *   URL is set (Azure OpenAI: when both are, its models being the configured
 *   deployments'; Vertex AI: when its project and key are, its models being
 *   the Gemini and Claude models of the price library, priced as Google's and
 *   Anthropic's; Amazon Bedrock, from the standard AWS_* variables: when its
 *   region, access key id and secret are, its models being the price
 *   library's `aws` ones); one
 *   without a config section (`mock`) is always available, so Tollgate can be
 *   tried without any provider account.
 * - Prices come from the maintained @pydantic/genai-prices data for every model
 *   it knows, converted once per model to integer micro-USD per million tokens
 *   (bigint; the library's decimal USD values are rounded to the micro-dollar,
 *   which is exact for every published price), every component and long-context
 *   tier included. Unknown models have `prices: null`: billing refuses them
 *   unless the operator allows unpriced models.
 * - Bare model names are mapped to a provider by its descriptor's well-known prefixes.
 */
import { calcPrice, findProvider } from "@pydantic/genai-prices";
import type { Config } from "../config.js";
import type { PriceInfo, PriceRates } from "./hooks.js";
import type { LibraryModels, ModelInfo, ProviderDescriptor } from "./providers/descriptor.js";
import { providerDescriptor, PROVIDERS } from "./providers/registry.js";
import type { AzureSettings, BedrockSettings, NativeApi, ProviderFormat, VertexSettings } from "./providers/types.js";
import { bedrockBaseUrl } from "../config-bedrock.js";
import { vertexBaseUrl } from "../config-vertex.js";

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
  /** Azure OpenAI's API version and deployments (azure format only). */
  azure?: AzureSettings;
  /** Vertex AI's project and location (vertex format only; `apiKey` is the service account key, JSON). */
  vertex?: VertexSettings;
  /** Amazon Bedrock's region and AWS credentials (bedrock format only; the secrets live here, `apiKey` is unset). */
  bedrock?: BedrockSettings;
}

/**
 * Whether a provider serves a native API as the client wrote it: every Anthropic-format provider speaks
 * Messages; only the built-in OpenAI provider is known to speak Responses (OpenAI-compatible servers often
 * lack it), so other OpenAI-format providers get the Responses API translated to chat.
 */
export function speaksNatively(p: Pick<ProviderEntry, "format" | "custom">, api: NativeApi): boolean {
  return api === "anthropic-messages" ? p.format === "anthropic" : p.format === "openai" && !p.custom;
}

/**
 * The price library's models of a built-in provider, when its models are the library's (or priced as
 * another's; a provider of several publishers' models: the publisher's of `model`).
 */
function libraryModels(providerSlug: string, model?: string): LibraryModels | undefined {
  const models = providerDescriptor(providerSlug)?.models;
  if (models?.kind === "deployments") return libraryModels(models.pricedAs);
  if (models?.kind === "publishers") {
    const publisher = model === undefined ? undefined : models.publishers.find((p) => p.models.test(model));
    return publisher ? libraryModels(publisher.pricedAs) : undefined;
  }
  return models?.kind === "library" ? models : undefined;
}

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
 * A built-in provider's model as the price library knows it (prices and context window),
 * for any model name the library matches (dated snapshots included), not only the featured
 * ones; null when the library does not know it. Cached per name.
 */
export function libraryModel(providerSlug: string, model: string): ModelInfo | null {
  const key = `${providerSlug}/${model}`;
  const hit = priceCache.get(key);
  if (hit !== undefined) return hit;
  const libId = libraryModels(providerSlug, model)?.libraryProviderId;
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
  const hosted = providerDescriptor(providerSlug)?.models;
  if (hosted?.kind === "publishers") {
    const all = hosted.publishers.flatMap((p) => libraryModelIds(p.pricedAs).filter((id) => p.models.test(id)));
    libraryLists.set(providerSlug, all);
    return all;
  }
  const lib = libraryModels(providerSlug);
  const libId = lib?.libraryProviderId;
  const provider = libId ? findProvider({ providerId: libId }) : undefined;
  const skip = lib?.notServed;
  const ids: string[] = [];
  for (const m of provider?.models ?? []) {
    if (m.deprecated || skip?.test(m.id)) continue;
    if (calcPrice({ input_tokens: 0, output_tokens: 0 }, m.id, { providerId: libId })?.model.id !== m.id) continue;
    ids.push(m.id);
  }
  libraryLists.set(providerSlug, ids);
  return ids;
}

/** A built-in provider's known models: its fixed list, or the library's (featured ones first). */
function knownModels(d: ProviderDescriptor): Map<string, ModelInfo> {
  if (d.models.kind === "fixed") return new Map(d.models.models.map((m) => [m.id, m]));
  if (d.models.kind !== "library" && d.models.kind !== "publishers") return new Map();
  const models = new Map<string, ModelInfo>();
  const featured = d.models.kind === "library" ? d.models.featured : [];
  for (const id of [...featured, ...libraryModelIds(d.id)]) {
    if (models.has(id)) continue;
    const info = libraryModel(d.id, id);
    if (info) models.set(id, info);
  }
  return models;
}

/**
 * The built-in Azure OpenAI provider (both endpoint and key set): its models are the configured
 * deployments' model names, priced as the price library prices them (null: unpriced).
 */
function azureEntry(d: ProviderDescriptor, config: Config): ProviderEntry | null {
  const c = config.providers.azure;
  if (!c.apiKey || !c.baseUrl) return null;
  const models = new Map<string, ModelInfo>();
  for (const id of Object.keys(c.deployments)) {
    const known = libraryModel(d.id, id);
    models.set(id, known ? { ...known } : { id, prices: null, embeddings: /embed/.test(id) });
  }
  return {
    slug: d.id,
    name: d.name,
    format: d.id,
    baseUrl: c.baseUrl.replace(/\/+$/, ""),
    apiKey: c.apiKey,
    custom: false,
    models,
    openModelList: false,
    azure: { apiVersion: c.apiVersion, deployments: { ...c.deployments } },
  };
}

/**
 * The built-in Vertex AI provider (both project and key set): the Gemini and Claude models the price
 * library knows, priced as Google's and Anthropic's; other names of those publishers route too.
 */
function vertexEntry(d: ProviderDescriptor, config: Config): ProviderEntry | null {
  const c = config.providers.vertex;
  if (!c.apiKey || !c.project) return null;
  return {
    slug: d.id,
    name: d.name,
    format: d.id,
    baseUrl: (c.baseUrl ?? vertexBaseUrl(c.location)).replace(/\/+$/, ""),
    apiKey: c.apiKey,
    custom: false,
    models: knownModels(d),
    openModelList: true,
    vertex: { project: c.project, location: c.location },
  };
}

/**
 * The built-in Amazon Bedrock provider (region, access key id and secret set): the price library's
 * `aws` models (featured ones first), other names routing too (inference profiles, new releases).
 */
function bedrockEntry(d: ProviderDescriptor, config: Config): ProviderEntry | null {
  const c = config.providers.bedrock;
  if (!c.apiKey || !c.accessKeyId || !c.region) return null;
  return {
    slug: d.id,
    name: d.name,
    format: d.id,
    baseUrl: (c.baseUrl ?? bedrockBaseUrl(c.region)).replace(/\/+$/, ""),
    custom: false,
    models: knownModels(d),
    openModelList: true,
    bedrock: {
      region: c.region,
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.apiKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    },
  };
}

export function builtInProviders(config: Config): Map<string, ProviderEntry> {
  const out = new Map<string, ProviderEntry>();
  for (const d of PROVIDERS) {
    if (d.configKey === "bedrock") {
      const entry = bedrockEntry(d, config);
      if (entry) out.set(d.id, entry);
      continue;
    }
    if (d.models.kind === "deployments" || d.models.kind === "publishers") {
      const entry = d.models.kind === "deployments" ? azureEntry(d, config) : vertexEntry(d, config);
      if (entry) out.set(d.id, entry);
      continue;
    }
    const c = d.configKey ? config.providers[d.configKey] : undefined;
    if (d.configKey && !c?.apiKey && !c?.baseUrl) continue;
    out.set(d.id, {
      slug: d.id,
      name: d.name,
      format: d.id,
      baseUrl: (c?.baseUrl ?? d.defaultBaseUrl).replace(/\/+$/, ""),
      ...(c ? { apiKey: c.apiKey } : {}),
      custom: false,
      models: knownModels(d),
      openModelList: d.models.kind === "library",
    });
  }
  return out;
}

/** The built-in provider a bare model name belongs to, by its descriptor's well-known prefixes. */
export function providerForBareModel(model: string): string | null {
  for (const d of PROVIDERS) if (d.bareModels?.test(model)) return d.id;
  return null;
}
