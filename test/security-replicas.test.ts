/**
 * A security policy changed through one replica applies on another replica
 * that had the project's scanner cached (for a minute), within a second:
 * the change travels on the Redis invalidation bus (scope "policies").
 * Two Tollgate apps on one database and one Redis, in one process.
 * Needs TEST_REDIS_URL; skipped otherwise.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type App } from "../src/app.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";

const silent = pino({ level: "silent" });
const until = async (cond: () => Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<number> => {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - start;
};

describe.skipIf(!TEST_REDIS_URL)(`security policies across replicas (${storageKind}; needs TEST_REDIS_URL)`, () => {
  let t: TestApp;
  let second: App;

  beforeAll(async () => {
    t = await startTestApp({
      env: { REDIS_URL: TEST_REDIS_URL!, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` },
    });
    second = await buildApp({ config: t.config, database: t.database, logger: silent });
    await second.server.ready();
    await until(
      async () => {
        const [r1, r2] = await Promise.all([t.app.server.inject("/readyz"), second.server.inject("/readyz")]);
        return r1.json().cacheInvalidation === "shared" && r2.json().cacheInvalidation === "shared";
      },
      5000,
      20,
    );
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  it("an org policy and a project override set on one replica apply on the other at once", async () => {
    const owner = await t.signUp();
    const { slug } = await createOrg(owner);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    // Test keys are never charged, so this suite needs no credits.
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" })).body
      .key;
    const call = (content: string) =>
      second.server.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload: { model: "mock/echo", messages: [{ role: "user", content }] },
      });

    // The second replica caches the project's (empty) policy.
    expect((await call("status of Project Falcon?")).statusCode).toBe(200);
    const put = await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
      rules: [{ name: "falcon", type: "keyword", pattern: "Project Falcon", action: "block" }],
    });
    expect(put.status).toBe(200);
    const ms = await until(async () => (await call("status of Project Falcon?")).statusCode === 403, 1000);
    expect(ms).toBeLessThan(1000);
    const blocked = await call("status of Project Falcon?");
    expect(blocked.json().error).toMatchObject({
      code: "policy_violation",
      message: 'Blocked by policy: rule "falcon"',
    });

    expect((await call("mail me at ops@example.com")).json().choices[0].message.content).toBe(
      "mail me at ops@example.com",
    );
    expect(
      (await owner.put(`/api/v1/orgs/${slug}/projects/prod/security-policy`, { pii: { email: "redact" } })).status,
    ).toBe(200);
    await until(
      async () =>
        (await call("mail me at ops@example.com")).json().choices?.[0]?.message?.content === "mail me at [EMAIL_1]",
      1000,
    );
  });
});
