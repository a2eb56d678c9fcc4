/**
 * The price a route is billed at, decided in one place (the hold, the charge,
 * `/v1/models` and `billing verify` all ask here):
 *  1. an organization's custom provider: the prices configured on its models
 *     (unset = 0: the organization pays that provider itself); no markup;
 *  2. an operator override (TOLLGATE_PRICE_OVERRIDES) for `provider/model`;
 *  3. the price library's price for the model (built-in providers);
 *  4. the mock provider: free;
 *  5. otherwise the model is unpriced: `null`. The gateway refuses it with
 *     400 `model_not_priced`, unless the operator allows unpriced models
 *     (TOLLGATE_ALLOW_UNPRICED_MODELS), which then cost 0.
 * The operator's markup applies to 2 and 3.
 */
import type { PriceInfo, RouteInfo } from "../hooks.js";
import { isFree, parseMarkupPercent, parsePriceOverrides } from "./cost.js";

export interface EffectivePrice {
  prices: PriceInfo;
  /** Micro-percent (12.5 % = 12_500_000). */
  markup: bigint;
  /** Nothing in it costs money: no hold, never refused for credits, open to test keys. */
  free: boolean;
}

export interface Pricing {
  /** The route's price, or null when nothing prices it. */
  of(route: Pick<RouteInfo, "provider" | "model" | "custom" | "prices">): EffectivePrice | null;
  /** The operator lets unpriced models through at cost 0. */
  readonly allowUnpriced: boolean;
}

export interface PricingOptions {
  priceOverrides: string;
  markupPercent: string;
  allowUnpriced?: boolean;
}

const FREE_PRICE: PriceInfo = { inputMicroUsdPerM: 0n, cachedInputMicroUsdPerM: 0n, outputMicroUsdPerM: 0n };

export function createPricing(opts: PricingOptions): Pricing {
  const overrides = new Map<string, EffectivePrice>();
  const markup = parseMarkupPercent(opts.markupPercent);
  for (const [model, prices] of parsePriceOverrides(opts.priceOverrides))
    overrides.set(model, { prices, markup, free: isFree(prices) });
  const mock: EffectivePrice = { prices: FREE_PRICE, markup: 0n, free: true };
  // One EffectivePrice per catalog price object (the catalog caches those): no allocation per request.
  const seen = new WeakMap<PriceInfo, EffectivePrice>();
  const wrap = (prices: PriceInfo, m: bigint): EffectivePrice => {
    let e = seen.get(prices);
    if (!e) {
      e = { prices, markup: m, free: isFree(prices) };
      seen.set(prices, e);
    }
    return e;
  };
  return {
    allowUnpriced: opts.allowUnpriced === true,
    of(route) {
      if (route.custom) return wrap(route.prices ?? FREE_PRICE, 0n);
      if (overrides.size) {
        const o = overrides.get(`${route.provider}/${route.model}`);
        if (o) return o;
      }
      if (route.provider === "mock") return mock;
      return route.prices ? wrap(route.prices, markup) : null;
    },
  };
}
