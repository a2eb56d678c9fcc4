/**
 * Rate limits (requests and tokens per minute, per project and per key) as
 * sliding-window counters: the previous window's count, weighted by how much
 * of it still overlaps the sliding window, plus the current window's count.
 * This is accurate within a few percent and needs two numbers per key.
 *
 * The store is an interface: in-process here (one replica); with REDIS_URL,
 * redis-store.ts runs the same arithmetic in a Lua script (atomic
 * check-and-add) so limits hold across replicas, falling back to this store
 * while Redis is unreachable.
 */

export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the current window rolls over. */
  resetMs: number;
  /** When refused: how long until `cost` would fit. */
  retryAfterMs: number;
}

export interface RateLimitStore {
  /** Adds `cost` to the key's window when it fits under the limit; refuses (adding nothing) otherwise. */
  hit(key: string, cost: number, rule: RateLimitRule, now?: number): Promise<RateLimitDecision>;
  /** Adds `delta` (may be negative) without a check: corrects an estimate once the real cost is known. */
  adjust(key: string, delta: number, rule: RateLimitRule, now?: number): Promise<void>;
}

interface Window {
  start: number;
  current: number;
  previous: number;
}

/** Pure sliding-window arithmetic shared by the in-process store (and mirrored by the Redis script). */
export function decide(w: Window, cost: number, rule: RateLimitRule, now: number): RateLimitDecision {
  const elapsed = now - w.start;
  const weight = Math.max(0, (rule.windowMs - elapsed) / rule.windowMs);
  const used = w.previous * weight + w.current;
  const resetMs = Math.max(0, rule.windowMs - elapsed);
  if (used + cost <= rule.limit) {
    return {
      allowed: true,
      limit: rule.limit,
      remaining: Math.max(0, Math.floor(rule.limit - used - cost)),
      resetMs,
      retryAfterMs: 0,
    };
  }
  // Refused: the previous window's weight decays linearly; find when enough of it has gone. When the
  // current window itself is too full, it becomes the previous one at the roll-over (still counting in
  // full there): the retry is when enough of it has decayed in the next window.
  let retryAfterMs = resetMs;
  if (w.previous > 0 && w.current + cost <= rule.limit) {
    const needWeight = (rule.limit - w.current - cost) / w.previous;
    retryAfterMs = Math.max(1, Math.ceil(rule.windowMs - needWeight * rule.windowMs - elapsed));
  } else if (w.current > 0 && w.current + cost > rule.limit && cost <= rule.limit) {
    const needWeight = (rule.limit - cost) / w.current;
    retryAfterMs = resetMs + Math.ceil(rule.windowMs - needWeight * rule.windowMs);
  }
  return {
    allowed: false,
    limit: rule.limit,
    remaining: Math.max(0, Math.floor(rule.limit - used)),
    resetMs,
    retryAfterMs: Math.max(1, retryAfterMs),
  };
}

function roll(w: Window | undefined, rule: RateLimitRule, now: number): Window {
  const start = now - (now % rule.windowMs);
  if (!w) return { start, current: 0, previous: 0 };
  if (w.start === start) return w;
  const previous = w.start === start - rule.windowMs ? w.current : 0;
  return { start, current: 0, previous };
}

export function createMemoryRateLimitStore(opts: { maxKeys?: number } = {}): RateLimitStore {
  const windows = new Map<string, Window>();
  const maxKeys = opts.maxKeys ?? 100_000;
  const put = (key: string, w: Window) => {
    windows.delete(key);
    windows.set(key, w);
    // Oldest-touched keys go first when the map is full; their windows are long idle.
    if (windows.size > maxKeys) windows.delete(windows.keys().next().value as string);
  };
  return {
    async hit(key, cost, rule, now = Date.now()) {
      const w = roll(windows.get(key), rule, now);
      const d = decide(w, cost, rule, now);
      if (d.allowed) w.current += cost;
      put(key, w);
      return d;
    },
    async adjust(key, delta, rule, now = Date.now()) {
      const w = roll(windows.get(key), rule, now);
      w.current = Math.max(0, w.current + delta);
      put(key, w);
    },
  };
}

export const MINUTE: number = 60_000;
