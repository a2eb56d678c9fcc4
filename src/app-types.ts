/**
 * What buildApp (app.ts) takes and what it gives: the process's one app —
 * the HTTP server with every route, and the handles main.ts, the CLI and the
 * tests use (logs flushed now, shutdown steps, an operator's grant).
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { GatewayHooks } from "./gateway/hooks.js";
import type { Timeouts } from "./gateway/providers/types.js";
import type { GrantFn } from "./modules/billing/billing.cli.js";
import type { KeyVerifier } from "./modules/keys/key-verifier.js";
import type { DeliveryTimings } from "./modules/log-destinations/log-destinations.wiring.js";
import type { RetentionReport } from "./modules/logs/logs.retention.js";
import type { Database } from "./platform/db/db.js";
import type { Mailer } from "./platform/mail.js";
import type { Metrics } from "./platform/metrics.js";
import type { RedisConnection } from "./platform/redis.js";
import type { RouteInfo } from "./platform/server.js";

export interface AppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  mailer?: Mailer;
  /** Extension points of the gateway pipeline (security policies, billing). */
  gatewayHooks?: GatewayHooks;
  gatewayTimeouts?: Partial<Timeouts>;
  /** The log destinations' delivery loop: poll, backoff and dead-letter limits (tests shorten them). */
  logDestinations?: Partial<DeliveryTimings>;
}

export interface App {
  server: FastifyInstance;
  /** Every route with its declared access (the permission matrix test is generated from it). */
  routes: RouteInfo[];
  /** The gateway's API key check (digest → cached project/org context). */
  keyVerifier: KeyVerifier;
  /** Writes queued request logs (and pending API token last-used times) now; they are otherwise written within seconds. */
  flushLogs(): Promise<void>;
  /** Exports the spans not yet sent (tracing on); nothing otherwise. */
  flushTraces(): Promise<void>;
  /** One run of the request-log retention job now (partitions ahead, expired logs deleted), if this replica wins its lease. */
  runLogRetention(now?: Date): Promise<RetentionReport>;
  /** Marks the app as draining: /readyz answers 503 from now on. */
  beginShutdown(): void;
  /** Shutdown deadline reached: requests still running end now (streams with a 503 `server_shutting_down` event). */
  endInFlight(): void;
  /** Prometheus registry (other parts register their own metrics on it). */
  metrics: Metrics;
  /** The shared Redis connection (REDIS_URL), null without one. */
  redis: RedisConnection | null;
  /** An operator grant (the CLI's, through the control socket): ledger + audit, balance caches dropped. */
  grantCredits: GrantFn;
  close(): Promise<void>;
}
