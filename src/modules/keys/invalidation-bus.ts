/**
 * How changes reach the gateway's key cache. Services publish an event after
 * the change commits (or, from inside a transaction they do not own, with
 * `beforeCommit`, which makes caches refuse to re-cache the target for a short
 * while). Delivery to this process is synchronous, so a revocation answered to
 * the user is already effective here. A shared implementation (Redis pub/sub,
 * scale-out issue) delivers the same events to every replica; until one is
 * configured, replicas on a shared PostgreSQL bound staleness with a 1-second
 * cache TTL instead (see app.ts).
 */

export type InvalidationTarget =
  | { scope: "keys"; keyIds: string[] }
  | { scope: "project"; projectId: string }
  | { scope: "org"; orgId: string };

export type InvalidationEvent = InvalidationTarget & {
  /** Published inside a still-open transaction: caches must not re-cache the target from the database for a moment. */
  beforeCommit?: boolean;
};

export interface CacheInvalidationBus {
  /** Delivers to this process's subscribers before returning; other replicas follow asynchronously. */
  publish(event: InvalidationEvent): void;
  subscribe(listener: (event: InvalidationEvent) => void): () => void;
  /** True when events reach every replica (a shared bus), false for this process only. */
  readonly crossReplica: boolean;
  close(): Promise<void>;
}

export function createLocalInvalidationBus(): CacheInvalidationBus {
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
    async close() {
      listeners.clear();
    },
  };
}
