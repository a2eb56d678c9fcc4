/**
 * What the gateway can route to for one organization: the built-in providers
 * plus the organization's custom providers, with their keys unsealed. Cached
 * per organization; any change to an org's providers drops its entry at once
 * on this replica (and, with the scale-out bus, on every replica). Other
 * organizations' providers are never in the map: routing is tenant-scoped.
 * A provider whose sealed secret cannot be opened is left out (and reported),
 * so the rest of the organization's routing keeps working.
 */
import type { ProviderEntry } from "../../gateway/catalog.js";
import type { PriceInfo } from "../../gateway/hooks.js";
import type { Db } from "../../platform/db/db.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { azureSettings } from "./providers.azure.js";
import { bedrockSettings } from "./providers.bedrock.js";
import { routedCredentials, storedCredentials } from "./providers.credentials.js";
import { routedModels } from "./providers.presets.js";
import * as repo from "./providers.repo.js";
import { vertexSettings } from "./providers.vertex.js";
import type { StoredModel } from "./providers.schema.js";

export interface ProviderDirectory {
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  /** Drops one organization's entry, or every entry without an argument. */
  invalidate(orgId?: string): void;
}

export const sealContext = (orgId: string, providerId: string) => `custom-provider:${orgId}:${providerId}`;

/** What a custom provider's sealed secret holds: its key (or its credentials' keys by id) and extra headers. */
export interface SealedSecret {
  apiKey: string;
  headers: Record<string, string>;
  credentials?: Record<string, string>;
}

/** A stored custom model's prices (micro-USD per million tokens, kept as strings). */
const storedModelPrices = (m: StoredModel): PriceInfo => ({
  inputMicroUsdPerM: BigInt(m.inputMicroUsdPerM),
  cachedInputMicroUsdPerM: BigInt(m.cachedInputMicroUsdPerM),
  outputMicroUsdPerM: BigInt(m.outputMicroUsdPerM),
});

/**
 * What a stored provider routes: its models (entered and discovered), each with its price, and
 * whether it takes names beyond them (a preset's provider does, as the vendor's API does).
 */
export const rowRouting = (row: Pick<repo.ProviderRow, "slug" | "settings" | "models">) => ({
  slug: row.slug,
  models: routedModels(row.settings, row.models, (m) => ({
    id: m.id,
    contextWindow: m.contextWindow ?? undefined,
    maxOutputTokens: m.maxOutputTokens ?? undefined,
    prices: storedModelPrices(m),
  })),
  openModelList: row.settings.preset !== undefined,
  preset: row.settings.preset,
});

export function toEntry(row: repo.ProviderRow, box: SecretBox): ProviderEntry {
  const secret = JSON.parse(box.open(row.secret, sealContext(row.orgId, row.id))) as SealedSecret;
  // A bedrock provider's sealed credential is its secret access key (and session token), never an API key.
  const bedrock = bedrockSettings(row.format, row.settings, secret.apiKey);
  const credentials = routedCredentials(storedCredentials(row.settings, secret.credentials));
  return {
    ...rowRouting(row),
    name: row.name,
    format: row.format,
    baseUrl: row.baseUrl.replace(/\/+$/, ""),
    apiKey: bedrock ? undefined : (credentials?.[0]?.apiKey ?? (secret.apiKey || undefined)),
    headers: secret.headers,
    custom: true,
    credentials,
    azure: azureSettings(row.format, row.settings),
    vertex: vertexSettings(row.format, row.settings),
    bedrock,
  };
}

export function createProviderDirectory(deps: {
  db: Db;
  box: SecretBox;
  builtIns: Map<string, ProviderEntry>;
  /** A number, or a function asked at each insert (the invalidation bus's `maxAgeMs`). */
  ttlMs?: number | (() => number);
  /** A stored provider that cannot be unsealed (secret rotated away, row tampered with); it is left out of routing. */
  onUnreadable?(err: unknown, provider: { orgId: string; id: string; slug: string }): void;
}): ProviderDirectory {
  const ttlOpt = deps.ttlMs ?? 30_000;
  const ttlMs = typeof ttlOpt === "function" ? ttlOpt : () => ttlOpt;
  const cache = new Map<string, { until: number; value: Promise<Map<string, ProviderEntry>> }>();
  return {
    providersFor(orgId) {
      const hit = cache.get(orgId);
      if (hit && Date.now() < hit.until) return hit.value;
      const value = repo.listForOrg(deps.db, orgId).then((rows) => {
        const map = new Map(deps.builtIns);
        for (const row of rows) {
          // One unreadable row must not take the organization's whole gateway down with it.
          try {
            map.set(row.slug, toEntry(row, deps.box));
          } catch (err) {
            deps.onUnreadable?.(err, { orgId: row.orgId, id: row.id, slug: row.slug });
          }
        }
        return map;
      });
      value.catch(() => cache.delete(orgId));
      cache.set(orgId, { until: Date.now() + ttlMs(), value });
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
      return value;
    },
    invalidate(orgId) {
      if (orgId === undefined) cache.clear();
      else cache.delete(orgId);
    },
  };
}
