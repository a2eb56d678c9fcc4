import { describe, expect, it } from "vitest";
import type { ProjectRow } from "../projects/projects.schema.js";
import { createLocalInvalidationBus, FALLBACK_TTL_MS } from "./invalidation-bus.js";
import { generateKey, keyDigest } from "./key-format.js";
import { createKeyVerifier, type KeyStore } from "./key-verifier.js";

type Row = NonNullable<Awaited<ReturnType<KeyStore["findByDigest"]>>>;

function storeWithOneKey() {
  const raw = generateKey("live");
  const project = {
    id: "p1",
    orgId: "o1",
    slug: "prod",
    name: "Prod",
    description: "",
    environment: "production",
    defaultModel: null,
    allowedModels: [],
    fallbackModels: [],
    rateLimitRpm: null,
    rateLimitTpm: null,
    keyRateLimitRpm: null,
    keyRateLimitTpm: null,
    monthlySpendCapMicroUsd: null,
    logBodies: false,
    createdBy: "u1",
    createdAt: new Date(),
    updatedAt: new Date(),
  } as unknown as ProjectRow;
  const row = {
    keyId: "k1",
    digest: keyDigest(raw),
    keyName: "k1",
    environment: "live",
    createdBy: "u1",
    expiresAt: null,
    revokedAt: null,
    orgId: "o1",
    orgSlug: "acme",
    project,
  } as unknown as Row;
  let lookups = 0;
  const store: KeyStore = {
    async findByDigest(digest) {
      lookups++;
      return digest === row.digest ? row : null;
    },
    async touchLastUsed() {},
  };
  return { raw, store, lookups: () => lookups };
}

describe("local invalidation bus", () => {
  it("lets caches live long in one process, caps them at the fallback TTL when replicas share a database", () => {
    expect(createLocalInvalidationBus().maxAgeMs(60_000)).toBe(60_000);
    expect(createLocalInvalidationBus({ singleProcess: true }).maxAgeMs(60_000)).toBe(60_000);
    expect(createLocalInvalidationBus({ singleProcess: false }).maxAgeMs(60_000)).toBe(FALLBACK_TTL_MS);
    expect(createLocalInvalidationBus({ singleProcess: false }).maxAgeMs(500)).toBe(500);
  });
});

describe("key verifier and the bus", () => {
  it("takes each entry's lifetime from the ttl function when it caches it", async () => {
    const f = storeWithOneKey();
    let now = 1_000_000;
    let ttl = 60_000;
    const v = createKeyVerifier({ store: f.store, ttlMs: () => ttl, now: () => now });
    await v.verify(f.raw);
    now += 30_000;
    await v.verify(f.raw);
    expect(f.lookups()).toBe(1); // cached for a minute
    ttl = 1_000; // the bus went down: new entries live one second
    now += 31_000;
    await v.verify(f.raw); // expired: looked up, cached for 1 s
    now += 1_500;
    await v.verify(f.raw);
    expect(f.lookups()).toBe(3);
    await v.close();
  });

  it("drops everything on {scope: 'all'} and ignores provider and policy events", async () => {
    const f = storeWithOneKey();
    const bus = createLocalInvalidationBus();
    const v = createKeyVerifier({ store: f.store, bus });
    await v.verify(f.raw);
    await v.verify(generateKey("live")); // a negative entry
    expect(v.stats()).toMatchObject({ entries: 1, negativeEntries: 1 });
    bus.publish({ scope: "providers", orgId: "o1" });
    bus.publish({ scope: "policies", orgId: "o1" });
    expect(v.stats()).toMatchObject({ entries: 1, negativeEntries: 1 });
    bus.publish({ scope: "all" });
    expect(v.stats()).toMatchObject({ entries: 0, negativeEntries: 0 });
    await v.verify(f.raw);
    expect(f.lookups()).toBe(3);
    await v.close();
  });
});
