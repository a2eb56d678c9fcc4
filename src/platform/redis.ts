/**
 * The one way to talk to Redis (REDIS_URL): state shared by replicas — rate
 * limits, cache invalidation, credit reservations — goes through connections
 * made here. Invariants:
 *  - Redis being down never crashes the process: every connection has an
 *    'error' listener, reconnects forever with capped backoff, and hot-path
 *    commands fail fast (no offline queue, one retry, a command timeout)
 *    instead of piling up while the server is away;
 *  - health (up/down, since when, last error) is tracked in one place and read
 *    by /readyz and /metrics; components that depend on Redis decide for
 *    themselves what "down" means for them (rate limits degrade, billing
 *    fails closed);
 *  - every key and channel starts with the configured prefix, so several
 *    deployments (or test runs) can share one Redis.
 */
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";

export interface RedisHealth {
  up: boolean;
  /** ioredis connection status: "ready", "connecting", "reconnecting", "end"… */
  status: string;
  /** When the connection was last lost (null while up). */
  downSince: Date | null;
  lastError: string | null;
}

export interface RedisConnection {
  /** The command connection: fails fast while Redis is unreachable (no offline queue). */
  client: Redis;
  /** `prefix + name`: every key and channel name goes through this. */
  key(name: string): string;
  readonly prefix: string;
  /** A separate connection (a subscriber needs its own): commands wait for the connection instead of failing fast. */
  duplicate(purpose: string): Redis;
  isUp(): boolean;
  health(): RedisHealth;
  /** Called on every up/down transition of the command connection. */
  onChange(listener: (up: boolean) => void): () => void;
  /** Resolves when connected, or after `timeoutMs` either way (start-up must not hang on Redis). */
  waitUntilReady(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface RedisConnectionOptions {
  url: string;
  prefix: string;
  log: Pick<Logger, "warn" | "info" | "error">;
  /** Upper bound of one command's round trip before it counts as failed. */
  commandTimeoutMs?: number;
}

/** Reconnect forever: 100 ms, 200 ms … capped at 2 s, so a recovered Redis is picked up within about 2 s. */
export const reconnectDelay = (times: number) => Math.min(times * 100, 2_000);

export function createRedisConnection(opts: RedisConnectionOptions): RedisConnection {
  const base: RedisOptions = {
    retryStrategy: reconnectDelay,
    connectTimeout: 2_000,
    commandTimeout: opts.commandTimeoutMs ?? 1_000,
    // Hot-path commands must fail at once while Redis is away, not queue up and
    // answer seconds later (a queued rate-limit check is worse than none).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Sockets that silently died (a network partition) are noticed by the command timeout and keep-alive.
    keepAlive: 10_000,
    lazyConnect: false,
  };
  const health: RedisHealth = { up: false, status: "connecting", downSince: new Date(), lastError: null };
  const listeners = new Set<(up: boolean) => void>();
  const extra = new Set<Redis>();
  let lastErrorLog = 0;

  const client = new Redis(opts.url, { ...base, connectionName: "tollgate" });
  const setUp = (up: boolean) => {
    health.status = client.status;
    if (health.up === up) return;
    health.up = up;
    health.downSince = up ? null : new Date();
    if (up) opts.log.info("redis connection is up");
    else
      opts.log.warn(
        { lastError: health.lastError },
        "redis connection lost; shared state falls back as configured (see docs/scaling.md)",
      );
    for (const l of listeners) l(up);
  };
  client.on("ready", () => setUp(true));
  client.on("close", () => setUp(false));
  client.on("end", () => setUp(false));
  client.on("reconnecting", () => {
    health.status = client.status;
  });
  client.on("error", (err: Error) => {
    health.lastError = err.message;
    // One line per 30 s while it stays down: the reconnect loop would otherwise log every 100 ms–2 s.
    if (Date.now() - lastErrorLog > 30_000) {
      lastErrorLog = Date.now();
      opts.log.warn({ err: err.message }, "redis error");
    }
  });

  const onChange = (listener: (up: boolean) => void) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  };

  return {
    client,
    prefix: opts.prefix,
    key: (name) => opts.prefix + name,
    duplicate(purpose) {
      const c = new Redis(opts.url, {
        ...base,
        connectionName: `tollgate-${purpose}`,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
      });
      c.on("error", () => {
        // Reported through the command connection's health; a subscriber reconnects on its own.
      });
      extra.add(c);
      return c;
    },
    isUp: () => health.up,
    health: () => ({ ...health, status: client.status }),
    onChange,
    waitUntilReady(timeoutMs) {
      if (health.up) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          off();
          resolve(false);
        }, timeoutMs);
        timer.unref();
        const off = onChange((up) => {
          if (!up) return;
          clearTimeout(timer);
          off();
          resolve(true);
        });
      });
    },
    async close() {
      listeners.clear();
      for (const c of [...extra, client]) {
        if (c.status !== "ready") {
          c.disconnect();
          continue;
        }
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }
      extra.clear();
    },
  };
}
