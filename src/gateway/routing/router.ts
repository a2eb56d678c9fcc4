/**
 * Model resolution: which provider and model serve a request.
 *  - `provider/model` names a provider (built-in or the organization's custom
 *    provider slug); a bare name is mapped by well-known prefixes, else looked
 *    up among the organization's custom providers' models;
 *  - no model → the project's default model;
 *  - the project's allowed-models list (empty = everything the org can reach)
 *    refuses others with 403 model_not_allowed; entries may be `provider/*`;
 *  - the project's fallback chain follows the primary target, each checked the
 *    same way (a fallback that is not allowed is skipped, never used);
 *  - a built-in provider's (or a preset's) model carries the price library's
 *    price and limits (null for a name the library does not know: billing
 *    decides).
 */
import { modelInfo, providerForBareModel, type ProviderEntry } from "../catalog.js";
import type { ModelInfo } from "../providers/descriptor.js";
import { GatewayError, invalidRequest } from "../errors.js";

export interface RoutingSettings {
  defaultModel: string | null;
  allowedModels: readonly string[];
  fallbackModels?: readonly string[];
}

export interface ResolvedTarget {
  provider: ProviderEntry;
  model: string;
  info: ModelInfo | null;
  /** "provider/model": the canonical name, also the circuit-breaker key. */
  name: string;
}

function resolveOne(requested: string, providers: Map<string, ProviderEntry>): ResolvedTarget {
  const slash = requested.indexOf("/");
  if (slash > 0) {
    const slug = requested.slice(0, slash);
    const model = requested.slice(slash + 1);
    const provider = providers.get(slug);
    if (provider && model) {
      const info = modelInfo(provider, model);
      if (info === undefined) throw modelNotFound(requested, provider);
      return { provider, model, info, name: `${slug}/${model}` };
    }
  }
  const bare = providerForBareModel(requested);
  const builtIn = bare ? providers.get(bare) : undefined;
  if (builtIn)
    return {
      provider: builtIn,
      model: requested,
      info: modelInfo(builtIn, requested) ?? null,
      name: `${builtIn.slug}/${requested}`,
    };
  for (const provider of providers.values()) {
    const info = provider.custom ? provider.models.get(requested) : undefined;
    if (info) return { provider, model: requested, info, name: `${provider.slug}/${requested}` };
  }
  throw modelNotFound(requested);
}

function modelNotFound(requested: string, provider?: ProviderEntry): GatewayError {
  const hint = provider
    ? `Provider "${provider.slug}" has no model "${requested.slice(provider.slug.length + 1)}". GET /v1/models lists what you can use.`
    : `No provider serves "${requested}". Use "provider/model" (e.g. "mock/echo"); GET /v1/models lists what you can use.`;
  return new GatewayError("model_not_found", hint, { param: "model" });
}

export function isAllowed(name: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => a === name || (a.endsWith("/*") && name.startsWith(a.slice(0, -1))));
}

export function resolveTargets(
  requested: string | undefined,
  settings: RoutingSettings,
  providers: Map<string, ProviderEntry>,
): ResolvedTarget[] {
  const model = requested?.trim() || settings.defaultModel;
  if (!model)
    throw invalidRequest("model_required", "Set `model` in the request, or a default model on the project.", "model");
  const primary = resolveOne(model, providers);
  if (!isAllowed(primary.name, settings.allowedModels)) {
    throw new GatewayError(
      "model_not_allowed",
      `This project may not use "${primary.name}". Allowed: ${settings.allowedModels.join(", ")}.`,
      { param: "model" },
    );
  }
  const targets = [primary];
  for (const f of settings.fallbackModels ?? []) {
    try {
      const t = resolveOne(f, providers);
      if (isAllowed(t.name, settings.allowedModels) && !targets.some((x) => x.name === t.name)) targets.push(t);
    } catch {
      // A fallback that no longer resolves (provider removed) is skipped, not fatal.
    }
  }
  return targets;
}
