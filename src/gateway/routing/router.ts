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
 *    decides);
 *  - an organization's virtual model (a name without `/`) comes before every
 *    other reading of a name: its targets, ordered by its strategy, each
 *    resolved as above and carrying its parameter overrides; a target that no
 *    longer resolves or that the project may not use is skipped (a project
 *    allowing the virtual model's name allows all of its targets); the
 *    project's fallbacks follow them.
 */
import { modelInfo, providerForBareModel, type ProviderEntry } from "../catalog.js";
import type { ModelInfo } from "../providers/descriptor.js";
import { GatewayError, invalidRequest } from "../errors.js";
import type { LatencyTracker } from "./latency.js";
import { weightedOrder } from "./weighted.js";

/** An organization's virtual model as routing reads it. */
export interface VirtualModel {
  name: string;
  strategy: "fallback" | "weighted" | "least-latency";
  targets: ReadonlyArray<{ model: string; weight: number; params?: Readonly<Record<string, unknown>> }>;
}

/** What besides providers a name may resolve through: the org's virtual models, and measured latencies. */
export interface RoutingExtras {
  virtuals?: ReadonlyMap<string, VirtualModel>;
  latency?: LatencyTracker;
}

export interface RoutingSettings {
  defaultModel: string | null;
  allowedModels: readonly string[];
  /** The key's own allowed models, within the project's (null or absent: the project's alone). */
  keyAllowedModels?: readonly string[] | null;
  fallbackModels?: readonly string[];
}

export interface ResolvedTarget {
  provider: ProviderEntry;
  model: string;
  info: ModelInfo | null;
  /** "provider/model": the canonical name, also the circuit-breaker key. */
  name: string;
  /** Request fields a virtual model's target overrides (sampling, limits). */
  params?: Readonly<Record<string, unknown>>;
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

/** What a model name resolves to now, or null when nothing serves it. */
export function resolveName(name: string, providers: Map<string, ProviderEntry>): ResolvedTarget | null {
  try {
    return resolveOne(name, providers);
  } catch {
    return null;
  }
}

/** Whether the project, and the key when it narrows it, may use `name`. */
export function modelAllowed(name: string, s: Pick<RoutingSettings, "allowedModels" | "keyAllowedModels">): boolean {
  return isAllowed(name, s.allowedModels) && (!s.keyAllowedModels || isAllowed(name, s.keyAllowedModels));
}

export function isAllowed(name: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => a === name || (a.endsWith("/*") && name.startsWith(a.slice(0, -1))));
}

export function resolveTargets(
  requested: string | undefined,
  settings: RoutingSettings,
  providers: Map<string, ProviderEntry>,
  extras?: RoutingExtras,
): ResolvedTarget[] {
  const model = requested?.trim() || settings.defaultModel;
  if (!model)
    throw invalidRequest("model_required", "Set `model` in the request, or a default model on the project.", "model");
  const virtual = extras?.virtuals?.get(model);
  const targets = virtual
    ? virtualTargets(virtual, settings, providers, extras?.latency)
    : [primaryTarget(model, settings, providers)];
  for (const f of settings.fallbackModels ?? []) {
    // A fallback that no longer resolves (provider removed) is skipped, not fatal.
    const t = resolveName(f, providers);
    if (t && modelAllowed(t.name, settings) && !targets.some((x) => x.name === t.name)) targets.push(t);
  }
  return targets;
}

function primaryTarget(name: string, settings: RoutingSettings, providers: Map<string, ProviderEntry>) {
  const primary = resolveOne(name, providers);
  if (!modelAllowed(primary.name, settings)) throw notAllowed(primary.name, settings);
  return primary;
}

const notAllowed = (name: string, settings: RoutingSettings) =>
  settings.keyAllowedModels && !isAllowed(name, settings.keyAllowedModels)
    ? new GatewayError(
        "model_not_allowed",
        `This API key may not use "${name}". Allowed for this key: ${settings.keyAllowedModels.join(", ")}.`,
        { param: "model" },
      )
    : new GatewayError(
        "model_not_allowed",
        `This project may not use "${name}". Allowed: ${settings.allowedModels.join(", ")}.`,
        { param: "model" },
      );

/** A virtual model's targets in the order its strategy tries them, each resolved and allowed. */
function virtualTargets(
  v: VirtualModel,
  settings: RoutingSettings,
  providers: Map<string, ProviderEntry>,
  latency: LatencyTracker | undefined,
): ResolvedTarget[] {
  const allowAll = modelAllowed(v.name, settings);
  const resolved: Array<{ target: ResolvedTarget; weight: number }> = [];
  let refused: string | null = null;
  for (const t of v.targets) {
    const r = resolveName(t.model, providers);
    if (!r) continue; // a target whose provider or model is gone
    if (!allowAll && !modelAllowed(r.name, settings)) {
      refused ??= r.name;
      continue;
    }
    if (t.params) r.params = t.params;
    resolved.push({ target: r, weight: t.weight });
  }
  if (resolved.length === 0) {
    if (refused) throw notAllowed(v.name, settings);
    throw new GatewayError(
      "model_not_found",
      `None of the targets of the virtual model "${v.name}" can be reached now. GET /v1/models lists what you can use.`,
      { param: "model" },
    );
  }
  const ordered =
    v.strategy === "weighted"
      ? weightedOrder(resolved)
      : v.strategy === "least-latency" && latency
        ? latency.fastestFirst(resolved, (t) => t.target.name)
        : resolved;
  const out: ResolvedTarget[] = [];
  for (const o of ordered) out.push(o.target);
  return out;
}
