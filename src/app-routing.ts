/**
 * What the gateway routes with, built for the app: the built-in providers,
 * each organization's custom providers and virtual models (cached per
 * organization, dropped on every replica through the invalidation bus), and
 * the services that manage them (their connection tests and model lists go
 * through the gateway, which is built after this: `gateway()` is asked late).
 */
import type { Config } from "./config.js";
import { builtInProviders } from "./gateway/catalog.js";
import type { Gateway } from "./gateway/gateway.js";
import { createProviderDirectory } from "./modules/providers/providers.directory.js";
import { createProviderService } from "./modules/providers/providers.service.js";
import { createVirtualModelDirectory } from "./modules/virtual-models/virtual-models.directory.js";
import { createVirtualModelService } from "./modules/virtual-models/virtual-models.service.js";
import type { Db } from "./platform/db/db.js";
import type { CacheInvalidationBus } from "./platform/invalidation-bus.js";
import type { SecretBox } from "./platform/secretbox.js";
import type { Logger } from "pino";

export function createRouting(deps: {
  config: Config;
  db: Db;
  box: SecretBox;
  bus: CacheInvalidationBus;
  logger: Logger;
  gateway: () => Pick<Gateway, "probe" | "listModels">;
}) {
  const { config, db, box, bus } = deps;
  const builtIns = builtInProviders(config);
  const directory = createProviderDirectory({
    db,
    box,
    builtIns,
    ttlMs: () => bus.maxAgeMs(30_000),
    onUnreadable: (err, provider) =>
      deps.logger.error(
        { err: (err as Error).message, ...provider },
        "custom provider secret cannot be read; the provider is left out of routing",
      ),
  });
  const virtualDirectory = createVirtualModelDirectory({ db, ttlMs: () => bus.maxAgeMs(30_000) });
  // Routing changes reach every replica's directories through the bus (and an org deletion drops them too).
  bus.subscribe((e) => {
    const orgId = e.scope === "providers" || e.scope === "org" ? e.orgId : e.scope === "all" ? undefined : null;
    if (orgId === null) return;
    directory.invalidate(orgId);
    virtualDirectory.invalidate(orgId);
  });
  const providersFor = (orgId: string) => directory.providersFor(orgId);
  // Changes go through the bus, so every replica's directory drops the org (this one synchronously).
  const invalidate = (orgId: string) => bus.publish({ scope: "providers", orgId });
  return {
    builtIns,
    providersFor,
    virtualModelsFor: (orgId: string) => virtualDirectory.virtualModelsFor(orgId),
    providers: createProviderService({
      db,
      box,
      directory: { providersFor, invalidate: (orgId) => invalidate(orgId!) },
      allowedHosts: config.allowedProviderHosts,
      probe: (entry, model) => deps.gateway().probe(entry, model),
      listModels: (entry) => deps.gateway().listModels(entry),
    }),
    virtualModels: createVirtualModelService({ db, providersFor, invalidate }),
  };
}
