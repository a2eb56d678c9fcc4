/**
 * The cache invalidation bus contract (platform/invalidation-bus.ts): what
 * the caches in front of the database (key verifier, provider directory,
 * policy caches) and the services that publish rely on, for the in-process
 * bus (one process, or replicas sharing a database without Redis) and the
 * Redis pub/sub bus.
 *  - publish delivers to every subscriber of this process before it returns
 *    (a revocation answered to the user is already effective here), the
 *    event as published;
 *  - a shared bus (`crossReplica`) delivers it to every other replica once
 *    and never back to its publisher; `{scope: "all"}` stays local;
 *  - `maxAgeMs` lets caches live long only while every change is known to
 *    reach this process, never longer than asked;
 *  - after close nothing is delivered and publishing is harmless.
 * Redis-only behaviour (cut off from Redis and back, joining late) is in
 * test/redis-bus.test.ts.
 */
import { expect, it } from "vitest";
import {
  type CacheInvalidationBus,
  createLocalInvalidationBus,
  createRedisInvalidationBus,
  FALLBACK_TTL_MS,
  type InvalidationEvent,
  type RedisInvalidationBus,
} from "../../src/platform/invalidation-bus.js";
import { contract, fresh, type Implementation, redisScope } from "./harness.js";

interface Bus {
  bus: CacheInvalidationBus;
  /** Another replica's bus (for a bus of one process: another process's, which shares nothing with this one). */
  peer(): Promise<CacheInvalidationBus>;
  /** Every change is known to reach this process: caches may keep entries as long as they like. */
  trustsCaches: boolean;
  /** Events reach other replicas. */
  shared: boolean;
  close(): Promise<void>;
}

const silent = { warn: () => undefined, info: () => undefined };

/** Resolves once the bus hears its own heartbeats (it then delivers `{scope: "all"}` locally). */
function healthy(bus: RedisInvalidationBus): Promise<RedisInvalidationBus> {
  return new Promise((resolve) => {
    if (bus.healthy()) return resolve(bus);
    const off = bus.subscribe(() => {
      if (!bus.healthy()) return;
      off();
      resolve(bus);
    });
  });
}

function local(singleProcess: boolean): Implementation<Bus> {
  return {
    name: singleProcess ? "in-process, one process" : "in-process, replicas on a shared database",
    make() {
      const buses: CacheInvalidationBus[] = [createLocalInvalidationBus({ singleProcess })];
      return {
        bus: buses[0]!,
        async peer() {
          const b = createLocalInvalidationBus({ singleProcess });
          buses.push(b);
          return b;
        },
        trustsCaches: singleProcess,
        shared: false,
        async close() {
          for (const b of buses) await b.close();
        },
      };
    },
    cleanup: (b) => b.close(),
  };
}

const implementations: Array<Implementation<Bus>> = [
  local(true),
  local(false),
  {
    name: "redis pub/sub",
    needs: "TEST_REDIS_URL",
    async make() {
      const scope = redisScope();
      const buses: RedisInvalidationBus[] = [];
      const replica = async () => {
        const b = createRedisInvalidationBus({ redis: await scope.connect(), log: silent });
        buses.push(b);
        return healthy(b);
      };
      return {
        bus: await replica(),
        peer: replica,
        trustsCaches: true,
        shared: true,
        async close() {
          for (const b of buses) await b.close();
          await scope.close();
        },
      };
    },
    cleanup: (b) => b.close(),
  },
];

/** Every event a bus delivers to this process, and a way to wait for one. */
function listen(bus: CacheInvalidationBus) {
  const seen: InvalidationEvent[] = [];
  const waiters: Array<{ pred: (e: InvalidationEvent) => boolean; resolve: () => void }> = [];
  bus.subscribe((e) => {
    seen.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    seen,
    until(pred: (e: InvalidationEvent) => boolean): Promise<void> {
      if (seen.some(pred)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

const EVERY_SCOPE: InvalidationEvent[] = [
  { scope: "keys", keyIds: ["k1", "k2"] },
  { scope: "keys", keyIds: ["k3"], beforeCommit: true },
  { scope: "project", projectId: "p1" },
  { scope: "project", projectId: "p2", beforeCommit: true },
  { scope: "org", orgId: "o1" },
  { scope: "providers", orgId: "o1" },
  { scope: "policies", orgId: "o1" },
];
const marker = (id: string): InvalidationEvent => ({ scope: "org", orgId: `marker-${id}` });
const is = (e: InvalidationEvent) => (x: InvalidationEvent) => JSON.stringify(x) === JSON.stringify(e);

contract("cache invalidation bus", implementations, (impl) => {
  const subject = fresh(impl);

  it("delivers every event to every subscriber of this process before publish returns, as published", () => {
    const { bus } = subject();
    const one = listen(bus);
    const two = listen(bus);
    for (const [i, e] of EVERY_SCOPE.entries()) {
      bus.publish(e);
      expect(one.seen).toHaveLength(i + 1);
      expect(two.seen).toHaveLength(i + 1);
    }
    expect(one.seen).toEqual(EVERY_SCOPE);
    expect(two.seen).toEqual(EVERY_SCOPE);
  });

  it("stops delivering to a listener once it unsubscribes (twice is harmless), and only to it", () => {
    const { bus } = subject();
    const kept: InvalidationEvent[] = [];
    const dropped: InvalidationEvent[] = [];
    bus.subscribe((e) => kept.push(e));
    const off = bus.subscribe((e) => dropped.push(e));
    bus.publish({ scope: "org", orgId: "a" });
    off();
    off();
    bus.publish({ scope: "org", orgId: "b" });
    expect(kept).toEqual([
      { scope: "org", orgId: "a" },
      { scope: "org", orgId: "b" },
    ]);
    expect(dropped).toEqual([{ scope: "org", orgId: "a" }]);
  });

  it("a shared bus delivers each event to the other replicas once, within a second, as published, and never back to its publisher", async () => {
    const s = subject();
    expect(s.bus.crossReplica).toBe(s.shared);
    const peer = await s.peer();
    const here = listen(s.bus);
    const there = listen(peer);
    for (const e of EVERY_SCOPE) s.bus.publish(e);
    s.bus.publish(marker("a"));
    expect(here.seen).toEqual([...EVERY_SCOPE, marker("a")]);
    if (!s.bus.crossReplica) {
      // Nothing links two processes: no event can ever arrive.
      expect(there.seen).toEqual([]);
      return;
    }
    const t0 = Date.now();
    await there.until(is(marker("a")));
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(there.seen).toEqual([...EVERY_SCOPE, marker("a")]);
    // The peer's answer reaches this replica after any echo of this replica's own events would have.
    peer.publish(marker("b"));
    await here.until(is(marker("b")));
    expect(here.seen).toEqual([...EVERY_SCOPE, marker("a"), marker("b")]);
    expect(there.seen).toEqual([...EVERY_SCOPE, marker("a"), marker("b")]);
  });

  it('{scope: "all"} is delivered to this process only', async () => {
    const s = subject();
    const peer = await s.peer();
    const here = listen(s.bus);
    const there = listen(peer);
    s.bus.publish({ scope: "all" });
    s.bus.publish(marker("after-all"));
    expect(here.seen).toEqual([{ scope: "all" }, marker("after-all")]);
    if (s.bus.crossReplica) await there.until(is(marker("after-all")));
    expect(there.seen.some((e) => e.scope === "all")).toBe(false);
  });

  it("lets caches live long only while every change is known to reach this process, never longer than asked", () => {
    const { bus, trustsCaches } = subject();
    expect(bus.maxAgeMs(60_000)).toBe(trustsCaches ? 60_000 : FALLBACK_TTL_MS);
    expect(bus.maxAgeMs(FALLBACK_TTL_MS / 2)).toBe(FALLBACK_TTL_MS / 2);
    for (const ms of [0, 1, 999, 1_000, 1_001, 3_600_000]) expect(bus.maxAgeMs(ms)).toBeLessThanOrEqual(ms);
  });

  it("after close delivers nothing, and publishing or closing again is harmless", async () => {
    const { bus } = subject();
    const l = listen(bus);
    await bus.close();
    expect(() => bus.publish({ scope: "keys", keyIds: ["k1"] })).not.toThrow();
    expect(l.seen).toEqual([]);
    await expect(bus.close()).resolves.toBeUndefined();
  });
});
