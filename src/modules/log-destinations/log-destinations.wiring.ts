/**
 * Log destinations in the app: the routes, and the delivery loop started with
 * the server and stopped when it closes (Fastify's onClose: after in-flight
 * requests, before the caller closes the database). Its webhooks leave through
 * their own SSRF-guarded connector, closed last.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Db } from "../../platform/db/db.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { createGuardedDispatcher } from "../../gateway/net/ssrf.js";
import { createDeliveryLoop, DEFAULT_TIMINGS, type DeliveryTimings } from "./log-destinations.delivery.js";
import { registerLogDestinationRoutes } from "./log-destinations.routes.js";
import { createLogDestinationService } from "./log-destinations.service.js";

export type { DeliveryTimings } from "./log-destinations.delivery.js";

export function startLogDestinations(
  server: FastifyInstance,
  deps: {
    db: Db;
    box: SecretBox;
    config: Pick<Config, "allowedProviderHosts">;
    log: Logger;
    timings?: Partial<DeliveryTimings>;
  },
): void {
  const { db, box, log } = deps;
  const allowedHosts = deps.config.allowedProviderHosts;
  const timings = { ...DEFAULT_TIMINGS, ...deps.timings };
  const service = createLogDestinationService({ db, box, allowedHosts, quickMs: timings.quickMs });
  registerLogDestinationRoutes(server, { logDestinations: service });
  const dispatcher = createGuardedDispatcher(allowedHosts, { connectTimeoutMs: 5_000 });
  const loop = createDeliveryLoop({ db, box, allowedHosts, log, dispatcher, timings });
  server.addHook("onClose", async () => {
    await loop.close();
    await dispatcher.close();
  });
}
