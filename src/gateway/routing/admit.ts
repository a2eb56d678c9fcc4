/**
 * Which of a request's resolved targets it may use, as billing sees them.
 * The primary must be admitted (its refusal — unpriced, not for a test key —
 * is the answer); a fallback that is refused is skipped, never used, so the
 * hold covers exactly the targets the executor may call.
 */
import type { GatewayHooks, GatewayRequestContext, RouteInfo } from "../hooks.js";
import type { ResolvedTarget } from "./router.js";

/** What billing needs to know of a target. */
export const routeInfo = (t: ResolvedTarget): RouteInfo => ({
  provider: t.provider.slug,
  model: t.model,
  format: t.provider.format,
  custom: t.provider.custom,
  prices: t.info?.prices ?? null,
  maxOutputTokens: t.info?.maxOutputTokens,
  contextWindow: t.info?.contextWindow,
  askedOutputTokens: askedOutput(t.params),
});

/** The output limit a target's overrides set (either field), if any. */
function askedOutput(params: ResolvedTarget["params"]): number | undefined {
  const v = params?.max_completion_tokens ?? params?.max_tokens;
  return typeof v === "number" ? v : undefined;
}

/** The targets this request may use, with their route info (primary first). */
export function admitTargets(
  ctx: GatewayRequestContext,
  targets: ResolvedTarget[],
  hooks: GatewayHooks,
): { targets: ResolvedTarget[]; routes: RouteInfo[] } {
  const routes = [routeInfo(targets[0]!)];
  hooks.admitRoute?.(ctx, routes[0]!);
  if (targets.length === 1) return { targets, routes };
  const kept = [targets[0]!];
  for (let i = 1; i < targets.length; i++) {
    const r = routeInfo(targets[i]!);
    try {
      hooks.admitRoute?.(ctx, r);
    } catch {
      continue;
    }
    kept.push(targets[i]!);
    routes.push(r);
  }
  return { targets: kept, routes };
}
