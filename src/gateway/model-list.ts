/**
 * `GET /v1/models`: the models a key's project may use, each with the price it
 * is billed at — the pricing's answer for that route (operator overrides and
 * markup applied, a custom provider's own prices, mock free), not the catalog's
 * raw price. Rates are micro-USD per million tokens (per thousand for the
 * request, web-search and file-search fees) as strings; a marked-up rate is
 * rounded up to the micro-USD, which is exactly what a million such tokens are
 * charged.
 * Only the components a price sets are shown (the others bill at their parent's
 * rate, see hooks.ts). A model nothing prices is not listed.
 * An organization's virtual models are listed by their name, priced as their
 * first target that resolves (each call is billed at the target that served
 * it), with their strategy and targets.
 * `GET /v1/models/{id}` answers one entry of that same list.
 */
import type { ProviderEntry } from "./catalog.js";
import type { ModelInfo } from "./providers/descriptor.js";
import type { PriceRates } from "./hooks.js";
import { ceilDiv, HUNDRED_PERCENT } from "./metering/cost.js";
import type { Pricing } from "./metering/pricing.js";
import { modelAllowed, type RoutingSettings, resolveName, type VirtualModel } from "./routing/router.js";

/** Who is asking: the project's allowed models, narrowed by the key's. */
type Access = Pick<RoutingSettings, "allowedModels" | "keyAllowedModels">;

const FIELDS: Array<[keyof PriceRates, string]> = [
  ["inputMicroUsdPerM", "input_per_million_micro_usd"],
  ["cachedInputMicroUsdPerM", "cached_input_per_million_micro_usd"],
  ["outputMicroUsdPerM", "output_per_million_micro_usd"],
  ["cacheWriteMicroUsdPerM", "cache_write_per_million_micro_usd"],
  ["cacheWrite1hMicroUsdPerM", "cache_write_1h_per_million_micro_usd"],
  ["audioInputMicroUsdPerM", "audio_input_per_million_micro_usd"],
  ["cachedAudioInputMicroUsdPerM", "cached_audio_input_per_million_micro_usd"],
  ["imageInputMicroUsdPerM", "image_input_per_million_micro_usd"],
  ["reasoningMicroUsdPerM", "reasoning_per_million_micro_usd"],
  ["audioOutputMicroUsdPerM", "audio_output_per_million_micro_usd"],
  ["imageOutputMicroUsdPerM", "image_output_per_million_micro_usd"],
  ["requestMicroUsdPerK", "per_thousand_requests_micro_usd"],
  ["webSearchMicroUsdPerK", "per_thousand_web_searches_micro_usd"],
  ["fileSearchMicroUsdPerK", "per_thousand_file_searches_micro_usd"],
];

function rates(r: PriceRates, markup: bigint): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, name] of FIELDS) {
    const v = r[field];
    if (v !== undefined) out[name] = (markup ? ceilDiv(v * (HUNDRED_PERCENT + markup), HUNDRED_PERCENT) : v).toString();
  }
  return out;
}

export interface ModelListing {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  provider: string;
  context_window: number | null;
  pricing: Record<string, unknown>;
  /** A virtual model: how it routes. */
  virtual?: { strategy: VirtualModel["strategy"]; targets: string[] };
}

export function createModelList(pricing: Pricing) {
  // A provider's model list is long-lived (built-ins for the process, custom ones until the directory
  // refreshes): each entry is priced and shaped once, not on every request.
  const shaped = new WeakMap<ModelInfo, { slug: string; item: ModelListing | null }>();
  function listing(p: ProviderEntry, m: ModelInfo): ModelListing | null {
    const hit = shaped.get(m);
    if (hit && hit.slug === p.slug) return hit.item;
    const price = pricing.of({ provider: p.slug, model: m.id, custom: p.custom, prices: m.prices });
    const item: ModelListing | null = price && {
      id: `${p.slug}/${m.id}`,
      object: "model",
      created: 0,
      owned_by: p.slug,
      provider: p.slug,
      context_window: m.contextWindow ?? null,
      pricing: {
        ...rates(price.prices, price.markup),
        ...(price.prices.tiers?.length
          ? {
              tiers: price.prices.tiers.map((t) => ({
                above_input_tokens: t.aboveInputTokens,
                ...rates(t.rates, price.markup),
              })),
            }
          : {}),
        free: price.free,
      },
    };
    shaped.set(m, { slug: p.slug, item });
    return item;
  }

  /** A virtual model's entry: its first target's that resolves and is priced, named and described as it. */
  function virtualListing(
    v: VirtualModel,
    providers: Map<string, ProviderEntry>,
    allowed: Access,
  ): ModelListing | null {
    for (const t of v.targets) {
      const r = resolveName(t.model, providers);
      const item = r?.info ? listing(r.provider, r.info) : null;
      if (!item || !(modelAllowed(v.name, allowed) || modelAllowed(item.id, allowed))) continue;
      return {
        ...item,
        id: v.name,
        owned_by: "virtual",
        provider: "virtual",
        virtual: { strategy: v.strategy, targets: v.targets.map((x) => x.model) },
      };
    }
    return null;
  }

  return {
    list(providers: Map<string, ProviderEntry>, allowed: Access, virtuals?: ReadonlyMap<string, VirtualModel>) {
      const data: ModelListing[] = [];
      for (const v of virtuals?.values() ?? []) {
        const item = virtualListing(v, providers, allowed);
        if (item) data.push(item);
      }
      for (const p of providers.values()) {
        for (const m of p.models.values()) {
          const item = listing(p, m);
          if (item && modelAllowed(item.id, allowed)) data.push(item);
        }
      }
      return { object: "list" as const, data };
    },

    /** One entry of the list (`provider/model`), or null when the list would not show it. */
    find(
      providers: Map<string, ProviderEntry>,
      allowed: Access,
      id: string,
      virtuals?: ReadonlyMap<string, VirtualModel>,
    ): ModelListing | null {
      const v = virtuals?.get(id);
      if (v) return virtualListing(v, providers, allowed);
      const slash = id.indexOf("/");
      if (slash <= 0) return null;
      const p = providers.get(id.slice(0, slash));
      const m = p?.models.get(id.slice(slash + 1));
      const item = p && m ? listing(p, m) : null;
      return item && modelAllowed(item.id, allowed) ? item : null;
    },
  };
}
