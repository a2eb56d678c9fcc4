/**
 * Rate limits in Redis: the Lua sliding window is atomic across connections
 * (replicas). The decisions it shares with the in-process store (the same
 * sliding window, token corrections) are checked by the contract suite,
 * test/contracts/ratelimit-store.contract.test.ts. When Redis goes away the
 * gateway keeps serving on per-replica counters (or refuses with 503 when
 * configured to fail closed), says so in /readyz and /metrics, never crashes,
 * and goes back to Redis when it returns. Needs TEST_REDIS_URL; skipped
 * otherwise.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "../src/gateway/errors.js";
import { MINUTE } from "../src/gateway/ratelimit/ratelimit.js";
import { createFailoverRateLimitStore, createRedisRateLimitStore } from "../src/gateway/ratelimit/redis-store.js";
import { createRedisConnection, type RedisConnection } from "../src/platform/redis.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const silent = pino({ level: "silent" });
const until = async (cond: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe.skipIf(!TEST_REDIS_URL)("Redis rate-limit store (needs TEST_REDIS_URL)", () => {
  const conns: RedisConnection[] = [];
  const connect = async (url = TEST_REDIS_URL!, prefix = `tgtest:${randomBytes(4).toString("hex")}:`) => {
    const c = createRedisConnection({ url, prefix, log: silent });
    conns.push(c);
    await c.waitUntilReady(3000);
    return c;
  };
  afterAll(async () => {
    for (const c of conns) await c.close();
  });

  it("is atomic across replicas: 300 concurrent hits from three connections, limit 100 → exactly 100 allowed", async () => {
    const prefix = `tgtest:${randomBytes(4).toString("hex")}:`;
    const stores = await Promise.all(
      [0, 1, 2].map(async () => createRedisRateLimitStore(await connect(TEST_REDIS_URL, prefix))),
    );
    const rule = { limit: 100, windowMs: MINUTE };
    const now = Date.now() - (Date.now() % MINUTE) + 1; // the start of a window: nothing carried over
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => stores[i % 3]!.hit("rpm:p:x", 1, rule, now)),
    );
    expect(results.filter((d) => d.allowed)).toHaveLength(100);
    const refused = results.find((d) => !d.allowed)!;
    expect(refused.remaining).toBe(0);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
  });

  it("falls back to local counters while Redis is down (or refuses when closed), and back to Redis after", async () => {
    const u = new URL(TEST_REDIS_URL!);
    const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    try {
      const conn = await connect(proxy.url);
      let fallbacks = 0;
      const local = createFailoverRateLimitStore({
        redis: conn,
        onFailure: "local",
        events: { onFallback: () => fallbacks++ },
      });
      const closed = createFailoverRateLimitStore({
        redis: conn,
        onFailure: "closed",
        events: { onFallback: () => fallbacks++ },
      });
      const rule = { limit: 2, windowMs: MINUTE };
      expect((await local.hit("a", 1, rule)).allowed).toBe(true);
      expect(local.mode()).toBe("global");

      await proxy.down();
      await until(() => !conn.isUp(), 3000);
      // Local counters: a fresh window on this replica.
      expect((await local.hit("a", 1, rule)).allowed).toBe(true);
      expect((await local.hit("a", 1, rule)).allowed).toBe(true);
      expect((await local.hit("a", 1, rule)).allowed).toBe(false);
      expect(local.mode()).toBe("local");
      const err = await closed.hit("b", 1, rule).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(503);
      // A correction after the answer was sent never throws, even when failing closed.
      await expect(closed.adjust("b", 5, rule)).resolves.toBeUndefined();
      expect(fallbacks).toBe(5);

      await proxy.up();
      await until(() => conn.isUp(), 8000);
      // Back on Redis: the global window still holds the one hit made before the outage.
      expect((await local.hit("a", 1, rule)).allowed).toBe(true);
      expect((await local.hit("a", 1, rule)).allowed).toBe(false);
      expect(local.mode()).toBe("global");
    } finally {
      await proxy.close();
    }
  }, 20_000);
});

describe.skipIf(!TEST_REDIS_URL)(
  `gateway with Redis down: degraded, visible, never a crash (${storageKind}; needs TEST_REDIS_URL)`,
  () => {
    let t: TestApp;
    let proxy: TcpProxy;
    let key: string;
    let liveKey: string;

    beforeAll(async () => {
      const u = new URL(TEST_REDIS_URL!);
      proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
      t = await startTestApp({
        env: {
          REDIS_URL: proxy.url,
          TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:`,
          TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/lorem": { input: "1", output: "1" } }),
        },
      });
      const owner = await t.signUp();
      const { slug } = await createOrg(owner);
      expect(
        (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod", rateLimit: { rpm: 3 } }))
          .status,
      ).toBe(201);
      key = (await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" })).body.key;
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Paid", slug: "paid" })).status).toBe(201);
      liveKey = (await owner.post(`/api/v1/orgs/${slug}/projects/paid/keys`, { name: "live", environment: "live" }))
        .body.key;
      await grantCredits(t, slug, "10");
    });
    afterAll(async () => {
      await t?.close();
      await proxy?.close();
    });

    const call = () =>
      t.app.server.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload: { model: "mock/echo", messages: [{ role: "user", content: "hi" }] },
      });
    const live = (model: string) =>
      t.app.server.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${liveKey}`, "content-type": "application/json" },
        payload: { model, max_tokens: 20, messages: [{ role: "user", content: "hi" }] },
      });
    const metric = async (line: string) => {
      const body = (await t.anon.get("/metrics")).body as string;
      return body.split("\n").find((l) => l.startsWith(line));
    };

    it("counts globally while Redis is up, per replica while it is down, and says so", async () => {
      let ready = await t.anon.get("/readyz");
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ redis: "up", rateLimits: "global", creditHolds: "shared" });
      expect((await live("mock/lorem")).statusCode).toBe(200);
      expect(await metric("tollgate_redis_up ")).toBe("tollgate_redis_up 1");
      expect([
        (await call()).statusCode,
        (await call()).statusCode,
        (await call()).statusCode,
        (await call()).statusCode,
      ]).toEqual([200, 200, 200, 429]);

      await proxy.down();
      await until(async () => (await t.anon.get("/readyz")).body.redis === "down", 3000);
      ready = await t.anon.get("/readyz");
      // Degraded rate limits do not fail readiness (every replica shares the same Redis).
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        redis: "down",
        rateLimits: "local (redis unreachable)",
        creditHolds: "closed (redis unreachable)",
      });
      // Billing fails closed: a priced request is refused (no upstream call, nothing charged); a free one is served.
      const refused = await live("mock/lorem");
      expect(refused.statusCode).toBe(503);
      expect(refused.json().error.code).toBe("billing_unavailable");
      expect(refused.headers["retry-after"]).toBe("1");
      expect((await live("mock/echo")).statusCode).toBe(200);
      expect(await metric('tollgate_billing_reservations_total{outcome="billing_unavailable"}')).toBe(
        'tollgate_billing_reservations_total{outcome="billing_unavailable"} 1',
      );
      // Served from this replica's own counters: a fresh window.
      expect([
        (await call()).statusCode,
        (await call()).statusCode,
        (await call()).statusCode,
        (await call()).statusCode,
      ]).toEqual([200, 200, 200, 429]);
      expect(await metric("tollgate_redis_up ")).toBe("tollgate_redis_up 0");
      expect(await metric('tollgate_ratelimit_mode{mode="local"}')).toBe('tollgate_ratelimit_mode{mode="local"} 1');
      expect(Number((await metric("tollgate_ratelimit_redis_fallback_total "))!.split(" ")[1])).toBeGreaterThanOrEqual(
        4,
      );

      await proxy.up();
      await until(async () => (await t.anon.get("/readyz")).body.redis === "up", 8000);
      // Back on the global window, which still holds the three requests made before the outage.
      expect((await call()).statusCode).toBe(429);
      expect((await t.anon.get("/readyz")).body.rateLimits).toBe("global");
      expect((await t.anon.get("/readyz")).body.creditHolds).toBe("shared");
      expect((await live("mock/lorem")).statusCode).toBe(200);
    }, 30_000);
  },
);
