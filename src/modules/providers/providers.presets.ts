/**
 * Presets and model discovery for organizations' custom providers.
 *  - A preset (config-presets.ts) fills in what the organization did not send:
 *    the OpenAI format, the vendor's name, its id as the slug, its base URL.
 *  - Discovery asks the upstream's `/models` what it serves and keeps the ids
 *    (at most MAX_DISCOVERED). A hosted vendor whose API has no list (404)
 *    falls back to the price library's list for it.
 *  - A discovered model is priced as the preset says: the price library's
 *    price when it knows the model (every component, read when routing, so a
 *    library update reaches it), nothing otherwise (the organization pays the
 *    vendor itself, like any custom provider's unpriced model). A model the
 *    organization entered itself wins over a discovered one of the same id.
 */
import { type PRESET_IDS, type ProviderPreset, presetById } from "../../config-presets.js";
import { libraryModel, libraryModelIds } from "../../gateway/catalog.js";
import type { ModelInfo } from "../../gateway/providers/descriptor.js";
import { UpstreamError } from "../../gateway/providers/types.js";
import { appError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import type { CreateProviderInput, ProviderSettings, StoredModel } from "./providers.schema.js";

const MAX_DISCOVERED = 2_000;

/** What a create request becomes once its preset filled in the rest. */
export function withPreset(body: CreateProviderInput) {
  const preset = presetById(body.preset);
  if (preset && body.format && body.format !== "openai") throw appError("PRESET_FORMAT");
  return {
    preset,
    format: preset ? ("openai" as const) : body.format!,
    name: body.name ?? preset!.name,
    slug: body.slug ?? preset?.id,
    baseUrl: body.baseUrl || (preset?.baseUrl ?? ""),
  };
}

/** The outcome of listing an upstream's models, as the API reports it. */
export interface Discovery {
  ok: boolean;
  count: number;
  source: "upstream" | "price-library" | null;
  error: string | null;
}

/**
 * Lists the upstream's models with `list`; a hosted preset's API without a list (404) gives the price
 * library's models for it. Throws DISCOVERY_FAILED with the upstream's (key-free) reason.
 */
export async function discoverModels(
  format: string,
  preset: ProviderPreset | undefined,
  list: () => Promise<string[]>,
): Promise<{ ids: string[]; discovery: Discovery }> {
  if (format !== "openai") throw appError("DISCOVERY_FORMAT");
  try {
    const ids = (await list()).slice(0, MAX_DISCOVERED);
    return { ids, discovery: { ok: true, count: ids.length, source: "upstream", error: null } };
  } catch (err) {
    const e = err instanceof UpstreamError ? err : new UpstreamError("protocol", (err as Error).message);
    if (preset?.pricedAs && e.kind === "http" && e.status === 404) {
      const ids = libraryModelIds(preset.id);
      return { ids, discovery: { ok: true, count: ids.length, source: "price-library", error: null } };
    }
    throw appError("DISCOVERY_FAILED", `The provider did not list its models: ${e.message}`);
  }
}

/** A discovered model as routing sees it: the preset's price for it, or none (free to the organization). */
function discoveredInfo(preset: string | undefined, id: string): ModelInfo {
  return (preset ? libraryModel(preset, id) : null) ?? { id, prices: null, embeddings: /embed/.test(id) };
}

/** Every model a provider routes: the discovered ones, then the entered ones (winning on the same id). */
export function routedModels(
  settings: ProviderSettings,
  entered: StoredModel[],
  info: (m: StoredModel) => ModelInfo,
): Map<string, ModelInfo> {
  const models = new Map<string, ModelInfo>();
  for (const id of settings.discovered ?? []) models.set(id, discoveredInfo(settings.preset, id));
  for (const m of entered) models.set(m.id, info(m));
  return models;
}

const usd = (micro: bigint | undefined) => formatUsd(micro ?? 0n);

/** The preset and the discovered models as the API shows them. */
export function presetOut(settings: ProviderSettings) {
  const out: {
    preset?: (typeof PRESET_IDS)[number];
    discoveredAt?: string | null;
    discoveredModels?: Array<{
      id: string;
      contextWindow: number | null;
      maxOutputTokens: number | null;
      inputPricePerMillionUsd: string;
      cachedInputPricePerMillionUsd: string;
      outputPricePerMillionUsd: string;
      priced: boolean;
    }>;
  } = {};
  if (settings.preset) out.preset = settings.preset;
  if (settings.discovered) {
    out.discoveredAt = settings.discoveredAt ?? null;
    out.discoveredModels = settings.discovered.map((id) => {
      const info = discoveredInfo(settings.preset, id);
      return {
        id,
        contextWindow: info.contextWindow ?? null,
        maxOutputTokens: info.maxOutputTokens ?? null,
        inputPricePerMillionUsd: usd(info.prices?.inputMicroUsdPerM),
        cachedInputPricePerMillionUsd: usd(info.prices?.cachedInputMicroUsdPerM),
        outputPricePerMillionUsd: usd(info.prices?.outputMicroUsdPerM),
        priced: info.prices !== null,
      };
    });
  }
  return out;
}
