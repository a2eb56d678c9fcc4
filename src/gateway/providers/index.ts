import type { AdapterSettings } from "./descriptor.js";
import { PROVIDERS } from "./registry.js";
import type { ProviderAdapter, ProviderFormat } from "./types.js";

export * from "./types.js";
export type { AdapterSettings } from "./descriptor.js";

export function createAdapters(settings: AdapterSettings = {}): Record<ProviderFormat, ProviderAdapter> {
  return Object.fromEntries(PROVIDERS.map((d) => [d.id, d.createAdapter(settings)])) as Record<
    ProviderFormat,
    ProviderAdapter
  >;
}
