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
 *   tier included (price-library.ts). Unknown models have `prices: null`:
 *   billing refuses them unless the operator allows unpriced models.
 * - Presets (config-presets.ts) turned on by the instance's variables are
 *   built-in providers too, slug = the preset's id, in the OpenAI format: a
 *   hosted vendor's models are the price library's for it, and any other name
 *   routes (unpriced unless the library knows it); a self-hosted server's
 *   models cost nothing.
 * - A key variable listing several keys (comma-separated) gives the provider
 *   several credentials of equal weight (see ProviderCredential).
 * - Bare model names are mapped to a provider by its descriptor's well-known prefixes.
 */
import type { Config } from "../config.js";
import { PROVIDER_PRESETS, presetById } from "../config-presets.js";
import type { PriceInfo } from "./hooks.js";
import { libraryIds, libraryPriced } from "./price-library.js";
import type { LibraryModels, ModelInfo, ProviderDescriptor } from "./providers/descriptor.js";
import { providerDescriptor, PROVIDERS } from "./providers/registry.js";
import type { AzureSettings, BedrockSettings, NativeApi, ProviderFormat, VertexSettings } from "./providers/types.js";
import { bedrockBaseUrl } from "../config-bedrock.js";
import { vertexBaseUrl } from "../config-vertex.js";

/**
 * One of a provider's several credentials (two accounts of a vendor, an Azure OpenAI resource per region):
 * a request goes to one of them, picked by weight, and fails over to the next before its first byte. Each
 * has its own circuit breaker and, when set, its own requests-per-minute limit.
 */
export interface ProviderCredential {
  /** Stable within its provider: names the credential in attempts, breakers and rate limits (never secret). */
  id: string;
  apiKey?: string;
  /** This credential's own endpoint (another region's resource); the provider's when absent. */
  baseUrl?: string;
  /** Relative share of the traffic (positive). */
  weight: number;
  /** Requests per minute this credential takes at most (across replicas with Redis); none when absent. */
  rpm?: number;
}

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
  /** Built-ins and presets accept model names beyond the known list (new releases); other custom providers do not. */
  openModelList: boolean;
  /** The preset the provider was made from (config-presets.ts): its names beyond the list are priced as it says. */
  preset?: string;
  /** Two or more credentials to spread calls over (absent: `apiKey` is the provider's one credential). */
  credentials?: ProviderCredential[];
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
export function speaksNatively(p: Pick<ProviderEntry, "format" | "custom" | "preset">, api: NativeApi): boolean {
  return api === "anthropic-messages"
    ? p.format === "anthropic"
    : p.format === "openai" && !p.custom && p.preset === undefined;
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

const FREE: PriceInfo = { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n };
const freeModels = new Map<string, ModelInfo>();

/**
 * A built-in provider's model, or a preset's (`providerSlug`: the preset's id), as the price library
 * knows it (prices and context window), for any model name the library matches (dated snapshots
 * included), not only the featured ones; null when the library does not know it. A self-hosted
 * preset's model the library does not know costs nothing (the team's own hardware).
 */
export function libraryModel(providerSlug: string, model: string): ModelInfo | null {
  const preset = presetById(providerSlug);
  const libId = preset ? preset.pricedAs : libraryModels(providerSlug, model)?.libraryProviderId;
  const info = libId ? libraryPriced(libId, model) : null;
  if (info || !preset?.selfHosted) return info;
  let free = freeModels.get(model);
  if (!free) {
    free = { id: model, prices: FREE, embeddings: /embed/.test(model) };
    if (freeModels.size > 10_000) freeModels.clear();
    freeModels.set(model, free);
  }
  return free;
}

/**
 * A provider's model: its own list first; for a provider taking names beyond it (built-ins, presets), the
 * price library's price (null: unknown, billing decides). Undefined: the provider does not serve it.
 */
export function modelInfo(
  provider: Pick<ProviderEntry, "slug" | "models" | "openModelList" | "preset">,
  model: string,
): ModelInfo | null | undefined {
  const listed = provider.models.get(model);
  if (listed) return listed;
  return provider.openModelList ? libraryModel(provider.preset ?? provider.slug, model) : undefined;
}

/**
 * Every model id the price library lists for a built-in provider (or a preset) that its chat or
 * embeddings API serves (see `libraryIds`). Computed once per provider.
 */
export function libraryModelIds(providerSlug: string): string[] {
  const hosted = providerDescriptor(providerSlug)?.models;
  if (hosted?.kind === "publishers")
    return hosted.publishers.flatMap((p) => libraryModelIds(p.pricedAs).filter((id) => p.models.test(id)));
  const pricedAs = presetById(providerSlug)?.pricedAs;
  if (pricedAs) return libraryIds(pricedAs);
  const lib = libraryModels(providerSlug);
  return lib ? libraryIds(lib.libraryProviderId, lib.notServed) : [];
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
    ...envKeys(c.apiKey),
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

/**
 * A key variable's keys: one is the provider's `apiKey`; several (comma-separated) are its credentials,
 * equally weighted, named 1, 2, … in order.
 */
export function envKeys(raw: string | string[] | undefined): Pick<ProviderEntry, "apiKey" | "credentials"> {
  const keys = (Array.isArray(raw) ? raw : (raw ?? "").split(",")).map((k) => k.trim()).filter(Boolean);
  if (keys.length < 2) return { apiKey: keys[0] };
  return { apiKey: keys[0], credentials: keys.map((apiKey, i) => ({ id: String(i + 1), apiKey, weight: 1 })) };
}

/** The presets the instance turned on: OpenAI-format built-ins named by their preset's id. */
function presetEntries(config: Config): ProviderEntry[] {
  const out: ProviderEntry[] = [];
  for (const p of PROVIDER_PRESETS) {
    const c = config.presets[p.id];
    if (!c) continue;
    const models = new Map<string, ModelInfo>();
    for (const id of libraryModelIds(p.id)) {
      const info = libraryModel(p.id, id);
      if (info) models.set(id, info);
    }
    out.push({
      slug: p.id,
      name: p.name,
      format: "openai",
      baseUrl: (c.baseUrl ?? p.baseUrl).replace(/\/+$/, ""),
      ...envKeys(c.apiKeys),
      custom: false,
      models,
      openModelList: true,
      preset: p.id,
    });
  }
  return out;
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
      ...(c ? envKeys(c.apiKey) : {}),
      custom: false,
      models: knownModels(d),
      openModelList: d.models.kind === "library",
    });
  }
  for (const entry of presetEntries(config)) out.set(entry.slug, entry);
  return out;
}

/** The built-in provider a bare model name belongs to, by its descriptor's well-known prefixes. */
export function providerForBareModel(model: string): string | null {
  for (const d of PROVIDERS) if (d.bareModels?.test(model)) return d.id;
  return null;
}
