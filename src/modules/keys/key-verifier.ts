/**
 * The gateway's key check, called once per request: raw key → project/org
 * context. Invariants:
 *  - format and checksum are checked first; a malformed key never reaches the
 *    cache or the database;
 *  - the cache is keyed by the FULL SHA-256 digest (never a prefix), bounded in
 *    size, with TTLs for positive and negative entries; negative entries live
 *    in their own smaller map so a flood of random keys cannot evict good ones;
 *  - a cache hit makes no database round trip; a miss is one indexed lookup
 *    with bound parameters, shared by concurrent requests for the same key,
 *    and the stored digest is compared in constant time;
 *  - invalidations (bus events or direct calls) apply synchronously; a lookup
 *    that was in flight during an invalidation is answered but not cached;
 *  - expiry is checked on every hit, not only when the entry was cached;
 *  - last-used times are kept in memory and written in one statement per flush
 *    interval (and on flush()/close()), never on the request path.
 */
import type { Caller } from "../../gateway/call.js";
import { safeEqual } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import type { ProjectRow } from "../projects/projects.schema.js";
import { KEY_PATTERN, type KeyEnvironment, keyDigest, parseKey } from "./key-format.js";
import * as repo from "./keys.repo.js";
import type { CacheInvalidationBus, InvalidationEvent, InvalidationTarget } from "../../platform/invalidation-bus.js";

/** A verified key: the gateway's caller (its project's settings included) plus what the key itself records. */
export interface KeyContext extends Caller {
  keyName: string;
  environment: KeyEnvironment;
  createdBy: string | null;
  expiresAt: Date | null;
  orgSlug: string;
  projectSlug: string;
}

export type VerifyFailure = "malformed" | "unknown" | "revoked" | "expired";
export type VerifyResult = { ok: true; ctx: KeyContext } | { ok: false; reason: VerifyFailure };

/** What the verifier needs from storage (a stub in unit tests). */
export interface KeyStore {
  findByDigest(digest: string): Promise<repo.KeyLookupRow | null>;
  touchLastUsed(entries: Array<{ keyId: string; at: Date }>): Promise<void>;
}

export const dbKeyStore = (db: Db): KeyStore => ({
  findByDigest: repo.prepareKeyLookup(db),
  touchLastUsed: (entries) => repo.touchLastUsed(db, entries),
});

export interface KeyVerifierOptions {
  store: KeyStore;
  bus?: CacheInvalidationBus;
  /** How long a valid key's context is reused without a database read (a function: asked at each insert, e.g. `bus.maxAgeMs`). */
  ttlMs?: number | (() => number);
  /** How long unknown/revoked/expired answers are reused. */
  negativeTtlMs?: number;
  maxEntries?: number;
  maxNegativeEntries?: number;
  /** After a `beforeCommit` invalidation, how long the target is read from the database without caching. */
  quarantineMs?: number;
  flushIntervalMs?: number;
  now?: () => number;
  onError?: (err: unknown, what: string) => void;
}

export interface KeyVerifierStats {
  hits: number;
  misses: number;
  lookups: number;
  malformed: number;
  entries: number;
  negativeEntries: number;
}

export interface KeyVerifier {
  verify(raw: unknown): Promise<VerifyResult>;
  invalidate(target: InvalidationTarget, opts?: { beforeCommit?: boolean }): void;
  /** Writes pending last-used times now. */
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): KeyVerifierStats;
}

interface Positive {
  ctx: KeyContext;
  until: number;
}
interface Negative {
  reason: Exclude<VerifyFailure, "malformed">;
  until: number;
}
type Lookup = { ok: true; ctx: KeyContext } | { ok: false; reason: Exclude<VerifyFailure, "malformed"> };

function toContext(row: repo.KeyLookupRow): KeyContext {
  const p: ProjectRow = row.project;
  return Object.freeze({
    keyId: row.keyId,
    keyName: row.keyName,
    environment: row.environment,
    createdBy: row.createdBy,
    expiresAt: row.expiresAt,
    orgId: row.orgId,
    orgSlug: row.orgSlug,
    projectId: p.id,
    projectSlug: p.slug,
    defaultModel: p.defaultModel,
    allowedModels: Object.freeze([...p.allowedModels]),
    keyAllowedModels: row.keyAllowedModels ? Object.freeze([...row.keyAllowedModels]) : null,
    fallbackModels: Object.freeze([...p.fallbackModels]),
    rateLimit: Object.freeze({ rpm: p.rateLimitRpm, tpm: p.rateLimitTpm }),
    // The key's own limits where it has them, else the project's per-key limits.
    keyRateLimit: Object.freeze({
      rpm: row.keyRateLimitRpm ?? p.keyRateLimitRpm,
      tpm: row.keyRateLimitTpm ?? p.keyRateLimitTpm,
    }),
    monthlySpendCapMicroUsd: p.monthlySpendCapMicroUsd,
    logBodies: p.logBodies,
    cache: Object.freeze({ mode: p.cacheMode, ttlSeconds: p.cacheTtlSeconds }),
    keyBudget:
      row.keyBudgetMicroUsd !== null && row.keyBudgetPeriod
        ? Object.freeze({ capMicroUsd: row.keyBudgetMicroUsd, period: row.keyBudgetPeriod })
        : null,
    endUserBudget:
      p.endUserBudgetMicroUsd !== null && p.endUserBudgetPeriod
        ? Object.freeze({ capMicroUsd: p.endUserBudgetMicroUsd, period: p.endUserBudgetPeriod })
        : null,
    revealBalance: row.creatorRole === "owner" || row.creatorRole === "admin",
  });
}

export function createKeyVerifier(opts: KeyVerifierOptions): KeyVerifier {
  const ttlOpt = opts.ttlMs ?? 60_000;
  const ttlMs = typeof ttlOpt === "function" ? ttlOpt : () => ttlOpt;
  const negativeTtlMs = opts.negativeTtlMs ?? 10_000;
  const maxEntries = opts.maxEntries ?? 50_000;
  const maxNegative = opts.maxNegativeEntries ?? 10_000;
  const quarantineMs = opts.quarantineMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const onError = opts.onError ?? (() => {});

  const positive = new Map<string, Positive>();
  const negative = new Map<string, Negative>();
  const digestByKeyId = new Map<string, string>();
  const inflight = new Map<string, Promise<Lookup>>();
  /** "k:<keyId>" / "p:<projectId>" / "o:<orgId>" → until (ms). */
  const quarantine = new Map<string, number>();
  /** Bumped by every invalidation; a lookup that saw it change does not cache. */
  let generation = 0;
  let lastUsed = new Map<string, number>();
  const counters = { hits: 0, misses: 0, lookups: 0, malformed: 0 };

  const isQuarantined = (ctx: KeyContext, t: number) =>
    [`k:${ctx.keyId}`, `p:${ctx.projectId}`, `o:${ctx.orgId}`].some((k) => (quarantine.get(k) ?? 0) > t);

  function dropPositive(digest: string) {
    const e = positive.get(digest);
    if (!e) return;
    positive.delete(digest);
    digestByKeyId.delete(e.ctx.keyId);
  }

  /** Inserts, evicting the oldest entries first (Map iteration order is insertion order). */
  function remember<V>(map: Map<string, V>, max: number, digest: string, value: V, evict: (digest: string) => void) {
    map.delete(digest);
    while (map.size >= max) evict(map.keys().next().value as string);
    map.set(digest, value);
  }

  function invalidate(target: InvalidationTarget, o: { beforeCommit?: boolean } = {}) {
    if (target.scope === "providers" || target.scope === "policies") return; // not part of a key's context
    generation++;
    if (target.scope === "all") {
      positive.clear();
      digestByKeyId.clear();
      negative.clear();
      return;
    }
    const t = now();
    const ids =
      target.scope === "keys"
        ? target.keyIds.map((id) => `k:${id}`)
        : [target.scope === "project" ? `p:${target.projectId}` : `o:${target.orgId}`];
    if (o.beforeCommit) {
      for (const [k, until] of quarantine) if (until <= t) quarantine.delete(k);
      for (const id of ids) quarantine.set(id, t + quarantineMs);
    }
    if (target.scope === "keys") {
      for (const keyId of target.keyIds) {
        const digest = digestByKeyId.get(keyId);
        if (digest) dropPositive(digest);
      }
      return;
    }
    for (const [digest, e] of positive) {
      if (target.scope === "project" ? e.ctx.projectId === target.projectId : e.ctx.orgId === target.orgId)
        dropPositive(digest);
    }
  }

  async function lookup(digest: string): Promise<Lookup> {
    counters.lookups++;
    const row = await opts.store.findByDigest(digest);
    // The index found the row by digest; compare anyway, in constant time, so the
    // answer never rests on anything but the full digest.
    if (!row || !safeEqual(row.digest, digest)) return { ok: false, reason: "unknown" };
    if (row.revokedAt) return { ok: false, reason: "revoked" };
    const ctx = toContext(row);
    return { ok: true, ctx };
  }

  function lookupShared(digest: string): Promise<Lookup> {
    const existing = inflight.get(digest);
    if (existing) return existing;
    const gen = generation;
    const p = lookup(digest)
      .then((res) => {
        const t = now();
        if (gen === generation && !(res.ok && isQuarantined(res.ctx, t))) {
          if (res.ok) {
            remember(positive, maxEntries, digest, { ctx: res.ctx, until: t + ttlMs() }, dropPositive);
            digestByKeyId.set(res.ctx.keyId, digest);
          } else {
            remember(negative, maxNegative, digest, { reason: res.reason, until: t + negativeTtlMs }, (d) =>
              negative.delete(d),
            );
          }
        }
        return res;
      })
      .finally(() => inflight.delete(digest));
    inflight.set(digest, p);
    return p;
  }

  function accept(ctx: KeyContext, t: number): VerifyResult {
    if (ctx.expiresAt !== null && ctx.expiresAt.getTime() <= t) return { ok: false, reason: "expired" };
    lastUsed.set(ctx.keyId, t);
    return { ok: true, ctx };
  }

  async function flush(): Promise<void> {
    if (lastUsed.size === 0) return;
    const pending = lastUsed;
    lastUsed = new Map();
    const entries = [...pending].map(([keyId, at]) => ({ keyId, at: new Date(at) }));
    try {
      for (let i = 0; i < entries.length; i += 1000) await opts.store.touchLastUsed(entries.slice(i, i + 1000));
    } catch (err) {
      // Keep the times for the next flush; newer uses recorded meanwhile win.
      for (const [keyId, at] of pending) if ((lastUsed.get(keyId) ?? 0) < at) lastUsed.set(keyId, at);
      onError(err, "flushing key last-used times");
    }
  }

  const timer = setInterval(() => void flush(), opts.flushIntervalMs ?? 5_000);
  timer.unref();
  const unsubscribe = opts.bus?.subscribe((e: InvalidationEvent) => invalidate(e, { beforeCommit: e.beforeCommit }));

  return {
    async verify(raw) {
      // The shape first; the checksum (CRC32 in base62) only for keys not cached: a cached
      // digest belongs to a key that passed it.
      if (typeof raw !== "string" || !KEY_PATTERN.test(raw)) {
        counters.malformed++;
        return { ok: false, reason: "malformed" };
      }
      const digest = keyDigest(raw);
      const t = now();
      const hit = positive.get(digest);
      if (hit) {
        if (hit.until > t) {
          counters.hits++;
          return accept(hit.ctx, t);
        }
        dropPositive(digest);
      }
      if (!parseKey(raw)) {
        counters.malformed++;
        return { ok: false, reason: "malformed" };
      }
      const miss = negative.get(digest);
      if (miss) {
        if (miss.until > t) {
          counters.hits++;
          return { ok: false, reason: miss.reason };
        }
        negative.delete(digest);
      }
      counters.misses++;
      const res = await lookupShared(digest);
      return res.ok ? accept(res.ctx, now()) : res;
    },
    invalidate,
    flush,
    async close() {
      clearInterval(timer);
      unsubscribe?.();
      await flush();
    },
    stats: () => ({ ...counters, entries: positive.size, negativeEntries: negative.size }),
  };
}
