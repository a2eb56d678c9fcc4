import { describe, expect, it } from "vitest";
import type { ProjectRow } from "../projects/projects.schema.js";
import { generateKey, keyDigest } from "./key-format.js";
import { createLocalInvalidationBus } from "../../platform/invalidation-bus.js";
import { createKeyVerifier, type KeyStore } from "./key-verifier.js";

type Row = NonNullable<Awaited<ReturnType<KeyStore["findByDigest"]>>>;

const project = (over: Partial<ProjectRow> = {}): ProjectRow => ({
  id: "p1",
  orgId: "o1",
  slug: "prod",
  name: "Prod",
  description: "",
  environment: "production",
  defaultModel: "openai/gpt-4o-mini",
  allowedModels: [],
  fallbackModels: [],
  rateLimitRpm: 60,
  rateLimitTpm: null,
  keyRateLimitRpm: 10,
  keyRateLimitTpm: null,
  monthlySpendCapMicroUsd: 5_000_000n,
  logBodies: false,
  cacheMode: "off",
  cacheTtlSeconds: 3600,
  endUserBudgetMicroUsd: null,
  endUserBudgetPeriod: null,
  logRetentionDays: null,
  createdBy: "u1",
  createdAt: new Date(),
  updatedAt: new Date(),
  ...over,
});

/** An in-memory store that counts lookups and can be made to fail or stall. */
function fakeStore() {
  const rows = new Map<string, Row>();
  const touched: Array<{ keyId: string; at: Date }> = [];
  let lookups = 0;
  let gate: Promise<void> | null = null;
  const store: KeyStore = {
    async findByDigest(digest) {
      lookups++;
      if (gate) await gate;
      const r = rows.get(digest);
      return r ? { ...r, project: { ...r.project } } : null;
    },
    async touchLastUsed(entries) {
      touched.push(...entries);
    },
  };
  function add(keyId: string, over: Partial<Row> = {}) {
    const raw = generateKey("live");
    const row: Row = {
      keyId,
      digest: keyDigest(raw),
      keyName: keyId,
      environment: "live",
      createdBy: "u1",
      creatorRole: "admin",
      expiresAt: null,
      revokedAt: null,
      keyAllowedModels: null,
      keyRateLimitRpm: null,
      keyRateLimitTpm: null,
      keyBudgetMicroUsd: null,
      keyBudgetPeriod: null,
      orgId: "o1",
      orgSlug: "acme",
      project: project(),
      ...over,
    };
    rows.set(row.digest, row);
    return { raw, row };
  }
  return {
    store,
    add,
    rows,
    touched,
    lookups: () => lookups,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

describe("key verifier", () => {
  it("refuses malformed keys and bad checksums without any lookup", async () => {
    const throwing: KeyStore = {
      findByDigest: () => {
        throw new Error("database must not be touched");
      },
      touchLastUsed: async () => {},
    };
    const v = createKeyVerifier({ store: throwing });
    const good = generateKey("live");
    const badChecksum = good.slice(0, -1) + (good.endsWith("A") ? "B" : "A");
    for (const raw of [
      "",
      "Bearer x",
      "' OR '1'='1",
      "tg_live_short",
      badChecksum,
      good.toUpperCase(),
      undefined,
      12,
    ]) {
      expect(await v.verify(raw)).toEqual({ ok: false, reason: "malformed" });
    }
    expect(v.stats()).toMatchObject({ malformed: 8, lookups: 0 });
    await v.close();
  });

  it("answers a hit from the cache with the project context and no lookup", async () => {
    const f = fakeStore();
    const { raw } = f.add("k1");
    const v = createKeyVerifier({ store: f.store });
    const first = await v.verify(raw);
    expect(first).toMatchObject({
      ok: true,
      ctx: {
        keyId: "k1",
        orgId: "o1",
        projectId: "p1",
        projectSlug: "prod",
        environment: "live",
        monthlySpendCapMicroUsd: 5_000_000n,
        keyRateLimit: { rpm: 10, tpm: null },
      },
    });
    for (let i = 0; i < 10; i++) expect((await v.verify(raw)).ok).toBe(true);
    expect(f.lookups()).toBe(1);
    await v.close();
  });

  it("caches unknown keys briefly and separately", async () => {
    const f = fakeStore();
    let t = 1_000;
    const v = createKeyVerifier({ store: f.store, negativeTtlMs: 100, now: () => t });
    const unknown = generateKey("test");
    expect(await v.verify(unknown)).toEqual({ ok: false, reason: "unknown" });
    expect(await v.verify(unknown)).toEqual({ ok: false, reason: "unknown" });
    expect(f.lookups()).toBe(1);
    t += 101;
    await v.verify(unknown);
    expect(f.lookups()).toBe(2);
    await v.close();
  });

  it("reports revoked and expired keys; expiry is checked on every hit", async () => {
    const f = fakeStore();
    let t = Date.parse("2030-01-01T00:00:00Z");
    const revoked = f.add("k-rev", { revokedAt: new Date(t - 1) });
    const expiring = f.add("k-exp", { expiresAt: new Date(t + 1000) });
    const v = createKeyVerifier({ store: f.store, now: () => t });
    expect(await v.verify(revoked.raw)).toEqual({ ok: false, reason: "revoked" });
    expect((await v.verify(expiring.raw)).ok).toBe(true);
    t += 1000;
    expect(await v.verify(expiring.raw)).toEqual({ ok: false, reason: "expired" });
    expect(f.lookups()).toBe(2);
    await v.close();
  });

  it("invalidates by key, project and org, directly and through the bus", async () => {
    const f = fakeStore();
    const bus = createLocalInvalidationBus();
    const a = f.add("ka");
    const b = f.add("kb", { project: project({ id: "p2", slug: "dev" }) });
    const v = createKeyVerifier({ store: f.store, bus });
    await v.verify(a.raw);
    await v.verify(b.raw);
    expect(v.stats().entries).toBe(2);

    f.rows.get(a.row.digest)!.revokedAt = new Date();
    bus.publish({ scope: "keys", keyIds: ["ka"] });
    expect(await v.verify(a.raw)).toEqual({ ok: false, reason: "revoked" });

    f.rows.get(b.row.digest)!.project = project({ id: "p2", slug: "development" });
    v.invalidate({ scope: "project", projectId: "p2" });
    expect(await v.verify(b.raw)).toMatchObject({ ok: true, ctx: { projectSlug: "development" } });

    f.rows.delete(b.row.digest);
    bus.publish({ scope: "org", orgId: "o1" });
    expect(await v.verify(b.raw)).toEqual({ ok: false, reason: "unknown" });
    await v.close();
  });

  it("does not cache a lookup that was in flight during an invalidation", async () => {
    const f = fakeStore();
    const k = f.add("k1");
    const v = createKeyVerifier({ store: f.store });
    const release = f.hold();
    const pending = v.verify(k.raw);
    v.invalidate({ scope: "keys", keyIds: ["k1"] });
    release();
    expect((await pending).ok).toBe(true);
    f.rows.get(k.row.digest)!.revokedAt = new Date();
    expect(await v.verify(k.raw)).toEqual({ ok: false, reason: "revoked" });
    await v.close();
  });

  it("reads a target uncached for a while after a before-commit invalidation", async () => {
    const f = fakeStore();
    let t = 0;
    const k = f.add("k1");
    const v = createKeyVerifier({ store: f.store, quarantineMs: 1000, now: () => t });
    v.invalidate({ scope: "keys", keyIds: ["k1"] }, { beforeCommit: true });
    // The revoking transaction has not committed yet: the database still says valid, and that is not cached.
    expect((await v.verify(k.raw)).ok).toBe(true);
    expect((await v.verify(k.raw)).ok).toBe(true);
    expect(f.lookups()).toBe(2);
    f.rows.get(k.row.digest)!.revokedAt = new Date();
    expect(await v.verify(k.raw)).toEqual({ ok: false, reason: "revoked" });
    // A committed "revoked" is final and cached.
    expect(await v.verify(k.raw)).toEqual({ ok: false, reason: "revoked" });
    expect(f.lookups()).toBe(3);
    // After the quarantine, valid answers are cached again (here: another key of the same project).
    const other = f.add("k2");
    t = 2000;
    await v.verify(other.raw);
    await v.verify(other.raw);
    expect(f.lookups()).toBe(4);
    await v.close();
  });

  it("shares one lookup between concurrent misses of the same key", async () => {
    const f = fakeStore();
    const k = f.add("k1");
    const v = createKeyVerifier({ store: f.store });
    const release = f.hold();
    const all = Promise.all(Array.from({ length: 20 }, () => v.verify(k.raw)));
    release();
    expect((await all).every((r) => r.ok)).toBe(true);
    expect(f.lookups()).toBe(1);
    await v.close();
  });

  it("stays within its size bound", async () => {
    const f = fakeStore();
    const v = createKeyVerifier({ store: f.store, maxEntries: 5, maxNegativeEntries: 3 });
    for (let i = 0; i < 12; i++) await v.verify(f.add(`k${i}`).raw);
    for (let i = 0; i < 7; i++) await v.verify(generateKey("live"));
    expect(v.stats()).toMatchObject({ entries: 5, negativeEntries: 3 });
    await v.close();
  });

  it("batches last-used times and writes them on flush, not per request", async () => {
    const f = fakeStore();
    let t = 10_000;
    const a = f.add("ka");
    const b = f.add("kb");
    const v = createKeyVerifier({ store: f.store, now: () => t, flushIntervalMs: 60_000 });
    await v.verify(a.raw);
    t += 5;
    await v.verify(a.raw);
    await v.verify(b.raw);
    expect(f.touched).toEqual([]);
    await v.flush();
    expect(f.touched).toEqual([
      { keyId: "ka", at: new Date(10_005) },
      { keyId: "kb", at: new Date(10_005) },
    ]);
    await v.flush();
    expect(f.touched).toHaveLength(2);
    await v.close();
  });

  it("keeps last-used times when a flush fails", async () => {
    const f = fakeStore();
    let fail = true;
    const written: string[] = [];
    const errors: unknown[] = [];
    const store: KeyStore = {
      findByDigest: f.store.findByDigest,
      async touchLastUsed(entries) {
        if (fail) throw new Error("db down");
        written.push(...entries.map((e) => e.keyId));
      },
    };
    const k = f.add("k1");
    const v = createKeyVerifier({ store, onError: (e) => errors.push(e) });
    await v.verify(k.raw);
    await v.flush();
    expect(errors).toHaveLength(1);
    fail = false;
    await v.close();
    expect(written).toEqual(["k1"]);
  });
});

describe("key verifier and the bus", () => {
  it("takes each entry's lifetime from the ttl function when it caches it", async () => {
    const f = fakeStore();
    const { raw } = f.add("k1");
    let now = 1_000_000;
    let ttl = 60_000;
    const v = createKeyVerifier({ store: f.store, ttlMs: () => ttl, now: () => now });
    await v.verify(raw);
    now += 30_000;
    await v.verify(raw);
    expect(f.lookups()).toBe(1); // cached for a minute
    ttl = 1_000; // the bus went down: new entries live one second
    now += 31_000;
    await v.verify(raw); // expired: looked up, cached for 1 s
    now += 1_500;
    await v.verify(raw);
    expect(f.lookups()).toBe(3);
    await v.close();
  });

  it("drops everything on {scope: 'all'} and ignores provider and policy events", async () => {
    const f = fakeStore();
    const { raw } = f.add("k1");
    const bus = createLocalInvalidationBus();
    const v = createKeyVerifier({ store: f.store, bus });
    await v.verify(raw);
    await v.verify(generateKey("live")); // a negative entry
    expect(v.stats()).toMatchObject({ entries: 1, negativeEntries: 1 });
    bus.publish({ scope: "providers", orgId: "o1" });
    bus.publish({ scope: "policies", orgId: "o1" });
    expect(v.stats()).toMatchObject({ entries: 1, negativeEntries: 1 });
    bus.publish({ scope: "all" });
    expect(v.stats()).toMatchObject({ entries: 0, negativeEntries: 0 });
    await v.verify(raw);
    expect(f.lookups()).toBe(3);
    await v.close();
  });
});
