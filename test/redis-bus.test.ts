/**
 * Cache invalidation across replicas through Redis pub/sub.
 *  - Bus level: a replica cut off from Redis empties its caches and falls
 *    back to the short TTL, and recovers; one that starts while Redis is down
 *    joins when it returns. Delivery (this replica synchronously, the others
 *    within a second, never an echo) is checked by the contract suite,
 *    test/contracts/invalidation-bus.contract.test.ts.
 *  - App level: two Tollgate apps on one database and one Redis (two replicas
 *    in one process): a key revoked through one is refused by the other
 *    within a second, though the other had it cached for a minute; project
 *    settings changed on one apply on the other.
 * Needs TEST_REDIS_URL; skipped otherwise.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type App } from "../src/app.js";
import {
  createRedisInvalidationBus,
  type InvalidationEvent,
  type RedisInvalidationBus,
} from "../src/platform/invalidation-bus.js";
import { createRedisConnection, type RedisConnection } from "../src/platform/redis.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const silent = pino({ level: "silent" });
const until = async (cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<number> => {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - start;
};

describe.skipIf(!TEST_REDIS_URL)("Redis invalidation bus (needs TEST_REDIS_URL)", () => {
  const prefix = `tgtest:${randomBytes(4).toString("hex")}:`;
  let proxy: TcpProxy;
  let connA: RedisConnection;
  let connB: RedisConnection;
  let a: RedisInvalidationBus;
  let b: RedisInvalidationBus;
  const seenA: InvalidationEvent[] = [];
  const seenB: InvalidationEvent[] = [];

  beforeAll(async () => {
    const u = new URL(TEST_REDIS_URL!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    connA = createRedisConnection({ url: TEST_REDIS_URL!, prefix, log: silent });
    // Replica B reaches Redis through the proxy, so the test can cut it off alone.
    connB = createRedisConnection({ url: proxy.url, prefix, log: silent });
    await Promise.all([connA.waitUntilReady(3000), connB.waitUntilReady(3000)]);
    a = createRedisInvalidationBus({ redis: connA, log: silent, heartbeatMs: 200 });
    b = createRedisInvalidationBus({ redis: connB, log: silent, heartbeatMs: 200 });
    a.subscribe((e) => seenA.push(e));
    b.subscribe((e) => seenB.push(e));
    await until(() => a.healthy() && b.healthy(), 5000);
    seenA.length = 0;
    seenB.length = 0;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await connA?.close();
    await connB?.close();
    await proxy?.close();
  });

  it("cut off from Redis: empties caches, caps them at the fallback TTL, and recovers when Redis returns", async () => {
    seenB.length = 0;
    await proxy.down();
    await until(() => !b.healthy(), 3000);
    expect(seenB).toContainEqual({ scope: "all" });
    expect(b.maxAgeMs(60_000)).toBe(1_000);
    expect(connB.isUp()).toBe(false);
    // Publishing while down neither throws nor blocks; local delivery still happens.
    b.publish({ scope: "org", orgId: "o1" });
    expect(seenB).toContainEqual({ scope: "org", orgId: "o1" });

    seenB.length = 0;
    await proxy.up();
    await until(() => b.healthy(), 8000);
    expect(seenB).toContainEqual({ scope: "all" });
    expect(b.maxAgeMs(60_000)).toBe(60_000);
    a.publish({ scope: "keys", keyIds: ["k2"] });
    await until(() => seenB.some((e) => e.scope === "keys"), 1000, 5);
  }, 20_000);

  it("a replica that starts while Redis is down joins the bus when Redis returns", async () => {
    await proxy.down();
    const conn = createRedisConnection({ url: proxy.url, prefix, log: silent });
    expect(await conn.waitUntilReady(500)).toBe(false);
    const c = createRedisInvalidationBus({ redis: conn, log: silent, heartbeatMs: 200 });
    const seenC: InvalidationEvent[] = [];
    c.subscribe((e) => seenC.push(e));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      expect(c.healthy()).toBe(false);
      expect(c.maxAgeMs(60_000)).toBe(1_000);
      await proxy.up();
      await until(() => c.healthy(), 8000);
      a.publish({ scope: "org", orgId: "o9" });
      await until(() => seenC.some((e) => e.scope === "org"), 1000, 5);
    } finally {
      await c.close();
      await conn.close();
    }
  }, 20_000);
});

describe.skipIf(!TEST_REDIS_URL)(
  `two replicas in one process share invalidations through Redis (${storageKind}; needs TEST_REDIS_URL)`,
  () => {
    let t: TestApp;
    let second: App;

    beforeAll(async () => {
      const env = { REDIS_URL: TEST_REDIS_URL!, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` };
      t = await startTestApp({ env: { ...env, TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
      second = await buildApp({ config: t.config, database: t.database, logger: silent });
      await second.server.ready();
      await until(async () => {
        const [r1, r2] = await Promise.all([t.app.server.inject("/readyz"), second.server.inject("/readyz")]);
        return r1.json().cacheInvalidation === "shared" && r2.json().cacheInvalidation === "shared";
      }, 5000);
    });
    afterAll(async () => {
      await second?.close();
      await t?.close();
    });

    const call = (app: App, key: string) =>
      app.server.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload: { model: "mock/echo", messages: [{ role: "user", content: "hi" }] },
      });

    it("a key revoked on one replica is refused on the other within a second", async () => {
      const owner = await t.signUp();
      const { slug } = await createOrg(owner);
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
      const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" });
      expect((await call(second, k.body.key)).statusCode).toBe(200);
      expect(second.keyVerifier.stats().entries).toBeGreaterThan(0); // cached on the second replica (60 s TTL)

      expect((await owner.delete(`/api/v1/orgs/${slug}/projects/prod/keys/${k.body.id}`)).status).toBeLessThan(300);
      const ms = await until(async () => (await call(second, k.body.key)).statusCode === 401, 1000, 10);
      expect(ms).toBeLessThan(1000);
      expect((await call(second, k.body.key)).json().error.code).toBe("key_revoked");
    });

    it("project settings changed on one replica apply on the other at once", async () => {
      const owner = await t.signUp();
      const { slug } = await createOrg(owner);
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
      const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" });
      expect((await call(second, k.body.key)).statusCode).toBe(200);
      expect((await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { allowedModels: ["mock/lorem"] })).status).toBe(
        200,
      );
      await until(async () => (await call(second, k.body.key)).statusCode !== 200, 1000, 10);
      expect((await call(second, k.body.key)).statusCode).toBe(403);
    });

    it("a custom provider added on one replica is routable on the other at once", async () => {
      const owner = await t.signUp();
      const { slug } = await createOrg(owner);
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
      const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" });
      const models = async () =>
        (
          (
            await second.server.inject({
              method: "GET",
              url: "/v1/models",
              headers: { authorization: `Bearer ${k.body.key}` },
            })
          ).json().data as Array<{ id: string }>
        ).map((m) => m.id);
      expect(await models()).not.toContain("team-llm/llama-3"); // the second replica has cached the org's providers now
      const created = await owner.post(`/api/v1/orgs/${slug}/providers`, {
        name: "Team LLM",
        slug: "team-llm",
        format: "openai",
        baseUrl: "http://127.0.0.1:9/v1",
        apiKey: "sk-x",
        models: [{ id: "llama-3" }],
      });
      expect(created.status).toBe(201);
      await until(async () => (await models()).includes("team-llm/llama-3"), 1000, 10);
    });
  },
);
