/**
 * How changes reach the caches in front of the database (gateway key cache,
 * provider directory, policy caches). Services publish an event after the
 * change commits (or, from inside a transaction they do not own, with
 * `beforeCommit`, which makes caches refuse to re-cache the target for a short
 * while). Delivery to this process is synchronous, so a revocation answered to
 * the user is already effective here.
 *
 * Two implementations:
 *  - local: this process only. On PGlite (one process) caches may live long;
 *    on a shared PostgreSQL without Redis other replicas never hear of a
 *    change, so `maxAgeMs` caps every cache at 1 second — the staleness bound.
 *  - Redis pub/sub (REDIS_URL): the same events reach every replica within
 *    milliseconds. Each replica publishes a heartbeat every second and listens
 *    for its own: while its heartbeats come back, events are known to flow and
 *    caches may live long; when they stop (Redis down, partition), events may
 *    be lost, so every cache is emptied at once (`{scope: "all"}`) and caps at
 *    the short TTL until heartbeats return (and is emptied once more then).
 *
 * Consumers: subscribe, drop what an event names, drop everything on
 * `{scope: "all"}`, and take each entry's lifetime from `maxAgeMs()` when it
 * is cached.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { RedisConnection } from "./redis.js";

export type InvalidationTarget =
  | { scope: "keys"; keyIds: string[] }
  | { scope: "project"; projectId: string }
  | { scope: "org"; orgId: string }
  /** An organization's routing changed: its custom providers or its virtual models (their directories). */
  | { scope: "providers"; orgId: string }
  /** An organization's security policy or one of its project overrides changed (the gateway's policy scanners). */
  | { scope: "policies"; orgId: string }
  /** Events may have been missed (the shared bus was down): drop every cached entry. Delivered locally only. */
  | { scope: "all" };

export type InvalidationEvent = InvalidationTarget & {
  /** Published inside a still-open transaction: caches must not re-cache the target from the database for a moment. */
  beforeCommit?: boolean;
};

export interface CacheInvalidationBus {
  /** Delivers to this process's subscribers before returning; other replicas follow asynchronously. */
  publish(event: InvalidationEvent): void;
  subscribe(listener: (event: InvalidationEvent) => void): () => void;
  /** True when events are meant to reach every replica (a shared bus), false for this process only. */
  readonly crossReplica: boolean;
  /**
   * How long a cache may keep an entry it stores now: `preferredMs` while every
   * change is known to reach this process, else the short fallback TTL.
   */
  maxAgeMs(preferredMs: number): number;
  close(): Promise<void>;
}

/** The staleness bound when changes cannot reach this replica through a bus. */
export const FALLBACK_TTL_MS = 1_000;

export function createLocalInvalidationBus(opts: { singleProcess?: boolean } = {}): CacheInvalidationBus {
  const singleProcess = opts.singleProcess ?? true;
  const listeners = new Set<(event: InvalidationEvent) => void>();
  return {
    crossReplica: false,
    publish(event) {
      for (const l of listeners) l(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    maxAgeMs: (preferredMs) => (singleProcess ? preferredMs : Math.min(preferredMs, FALLBACK_TTL_MS)),
    async close() {
      listeners.clear();
    },
  };
}

interface Envelope {
  from: string;
  /** A heartbeat (no event). */
  hb?: true;
  event?: InvalidationEvent;
}

export interface RedisBusOptions {
  redis: RedisConnection;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  heartbeatMs?: number;
  /** Heartbeats missed for this long mark the bus down. */
  staleAfterMs?: number;
  fallbackTtlMs?: number;
}

export interface RedisInvalidationBus extends CacheInvalidationBus {
  /** True while this replica's own heartbeats come back through Redis. */
  healthy(): boolean;
}

export function createRedisInvalidationBus(opts: RedisBusOptions): RedisInvalidationBus {
  const replicaId = randomUUID();
  const channel = opts.redis.key("invalidate");
  const heartbeatMs = opts.heartbeatMs ?? 1_000;
  const staleAfterMs = opts.staleAfterMs ?? 3 * heartbeatMs;
  const fallbackTtlMs = opts.fallbackTtlMs ?? FALLBACK_TTL_MS;
  const listeners = new Set<(event: InvalidationEvent) => void>();
  let lastOwnBeat = 0;
  let healthy = false;
  let closed = false;

  const deliver = (event: InvalidationEvent) => {
    for (const l of listeners) l(event);
  };
  const send = (env: Envelope) => {
    opts.redis.client.publish(channel, JSON.stringify(env)).catch((err: Error) => {
      // Redis is away: every replica's heartbeat check notices and caches fall back to the
      // short TTL. Only a replica cut off alone while the others still reach Redis leaves
      // them unaware of this change until their cache entries expire (≤ 60 s): say so.
      if (env.event)
        opts.log.warn(
          { err: err.message, scope: env.event.scope },
          "cache invalidation could not be published to other replicas",
        );
    });
  };
  const setHealthy = (next: boolean) => {
    if (next === healthy) return;
    healthy = next;
    // Either way, events may have been missed in between: start over from the database.
    deliver({ scope: "all" });
    if (next) opts.log.info({ channel }, "cache invalidation bus is up: caches are shared-invalidated again");
    else
      opts.log.warn(
        { channel, fallbackTtlMs },
        "cache invalidation bus is down: caches emptied and capped at the fallback TTL",
      );
  };

  const sub: Redis = opts.redis.duplicate("invalidation");
  sub.on("message", (ch: string, message: string) => {
    if (ch !== channel) return;
    let env: Envelope;
    try {
      env = JSON.parse(message) as Envelope;
    } catch {
      return;
    }
    if (env.from === replicaId) {
      if (env.hb) {
        lastOwnBeat = Date.now();
        setHealthy(true);
      }
      return; // our own events were delivered locally when published
    }
    if (env.event && typeof env.event === "object" && typeof env.event.scope === "string" && env.event.scope !== "all")
      deliver(env.event);
  });
  // Subscribe on every (re)connect — also when Redis was down at start, so the first
  // subscribe never succeeded and autoResubscribe would have nothing to restore.
  const subscribe = () => {
    sub.subscribe(channel).then(
      () => send({ from: replicaId, hb: true }),
      () => undefined,
    );
  };
  sub.on("ready", subscribe);
  if (sub.status === "ready") subscribe();

  const beat = setInterval(() => {
    if (Date.now() - lastOwnBeat > staleAfterMs) setHealthy(false);
    send({ from: replicaId, hb: true });
  }, heartbeatMs);
  beat.unref();

  return {
    crossReplica: true,
    healthy: () => healthy,
    publish(event) {
      deliver(event);
      if (event.scope === "all" || closed) return;
      send({ from: replicaId, event });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    maxAgeMs: (preferredMs) => (healthy ? preferredMs : Math.min(preferredMs, fallbackTtlMs)),
    async close() {
      closed = true;
      clearInterval(beat);
      listeners.clear();
      try {
        if (sub.status === "ready") await sub.unsubscribe(channel);
      } catch {
        // closing anyway
      }
      sub.disconnect();
    },
  };
}
