/**
 * The guard's token check: raw `tg_org_…` → the token and its creator.
 * Invariants:
 *  - shape and checksum first: a malformed token never reaches the cache or
 *    the database;
 *  - valid tokens are cached by their full SHA-256 for `ttlMs()` (asked at each
 *    insert: long while the invalidation bus reaches every replica, 1 s when it
 *    cannot); unknown, revoked and expired answers are never cached;
 *  - revocation travels on the invalidation bus as `{scope: "keys"}` with the
 *    token ids (ids are UUIDs shared with no key), `{scope: "org"}` and
 *    `{scope: "all"}` drop their entries; events apply synchronously, and a
 *    lookup that was in flight during one is answered but not cached; after a
 *    `beforeCommit` event the token is read uncached for `quarantineMs`;
 *  - expiry is checked on every hit;
 *  - last-used times are kept in memory and written in one statement per
 *    flush interval (and on flush()/close()), never on the request path.
 */
import type { OrgTokenResult, OrgTokenVerifier, VerifiedOrgToken } from "../../platform/auth/org-token.js";
import { safeEqual } from "../../platform/crypto.js";
import type { CacheInvalidationBus, InvalidationEvent } from "../../platform/invalidation-bus.js";
import { isWellFormedToken, tokenDigest } from "./api-tokens.format.js";
import type { Db } from "../../platform/db/db.js";
import * as repo from "./api-tokens.repo.js";

export interface TokenStore {
  findByDigest(digest: string): Promise<repo.TokenLookupRow | null>;
  touchLastUsed(entries: Array<{ id: string; at: Date }>): Promise<void>;
}

export const dbTokenStore = (db: Db): TokenStore => ({
  findByDigest: (digest) => repo.findByDigest(db, digest),
  touchLastUsed: (entries) => repo.touchLastUsed(db, entries),
});

export interface TokenVerifierOptions {
  store: TokenStore;
  bus: CacheInvalidationBus;
  ttlMs: () => number;
  quarantineMs?: number;
  flushIntervalMs?: number;
  onError?: (err: unknown, what: string) => void;
}

export interface TokenVerifier extends OrgTokenVerifier {
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  token: VerifiedOrgToken;
  expiresAt: number | null;
  until: number;
}

function check(row: repo.TokenLookupRow | null, digest: string): OrgTokenResult & { expiresAt?: number | null } {
  if (!row || !safeEqual(row.digest, digest)) return { ok: false, reason: "invalid" };
  // A token whose creator's account is gone acts for nobody.
  if (row.revokedAt || !row.createdBy) return { ok: false, reason: "revoked" };
  const token: VerifiedOrgToken = Object.freeze({
    id: row.id,
    orgId: row.orgId,
    name: row.name,
    role: row.role,
    projectIds: row.projectIds ? Object.freeze([...row.projectIds]) : null,
    creator: { userId: row.createdBy, email: row.creatorEmail ?? "", name: row.creatorName ?? "" },
  });
  return { ok: true, token, expiresAt: row.expiresAt?.getTime() ?? null };
}

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const quarantineMs = opts.quarantineMs ?? 5_000;
  const onError = opts.onError ?? (() => {});
  const cache = new Map<string, Entry>();
  const quarantine = new Map<string, number>();
  let generation = 0;
  let lastUsed = new Map<string, number>();

  function drop(match: (e: Entry) => boolean) {
    for (const [digest, e] of cache) if (match(e)) cache.delete(digest);
  }

  function onEvent(e: InvalidationEvent) {
    if (e.scope === "providers" || e.scope === "policies" || e.scope === "project") return;
    generation++;
    if (e.scope === "all") return cache.clear();
    if (e.scope === "org") return drop((x) => x.token.orgId === e.orgId);
    const ids = new Set(e.keyIds);
    if (e.beforeCommit) for (const id of ids) quarantine.set(id, Date.now() + quarantineMs);
    drop((x) => ids.has(x.token.id));
  }

  function accept(token: VerifiedOrgToken, expiresAt: number | null, t: number): OrgTokenResult {
    if (expiresAt !== null && expiresAt <= t) return { ok: false, reason: "expired" };
    lastUsed.set(token.id, t);
    return { ok: true, token };
  }

  async function lookup(digest: string): Promise<OrgTokenResult> {
    const gen = generation;
    const res = check(await opts.store.findByDigest(digest), digest);
    if (!res.ok) return res;
    const t = Date.now();
    const held = (quarantine.get(res.token.id) ?? 0) > t;
    if (gen === generation && !held)
      cache.set(digest, { token: res.token, expiresAt: res.expiresAt ?? null, until: t + opts.ttlMs() });
    return accept(res.token, res.expiresAt ?? null, t);
  }

  async function flush(): Promise<void> {
    if (lastUsed.size === 0) return;
    const pending = lastUsed;
    lastUsed = new Map();
    try {
      await opts.store.touchLastUsed([...pending].map(([id, at]) => ({ id, at: new Date(at) })));
    } catch (err) {
      for (const [id, at] of pending) if ((lastUsed.get(id) ?? 0) < at) lastUsed.set(id, at);
      onError(err, "flushing API token last-used times");
    }
  }

  const timer = setInterval(() => void flush(), opts.flushIntervalMs ?? 5_000);
  timer.unref();
  const unsubscribe = opts.bus.subscribe(onEvent);

  return {
    async verify(raw) {
      if (!isWellFormedToken(raw)) return { ok: false, reason: "invalid" };
      const digest = tokenDigest(raw);
      const t = Date.now();
      const hit = cache.get(digest);
      if (hit && hit.until > t) return accept(hit.token, hit.expiresAt, t);
      if (hit) cache.delete(digest);
      return lookup(digest);
    },
    flush,
    async close() {
      clearInterval(timer);
      unsubscribe();
      await flush();
    },
  };
}
