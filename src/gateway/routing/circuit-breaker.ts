/**
 * A circuit breaker per upstream target (provider + model). Closed: calls pass.
 * After `failureThreshold` consecutive failures it opens: calls are skipped
 * until `cooldownMs` has passed; then it half-opens and lets one probe through —
 * success closes it, failure opens it again. An upstream 429/503 with
 * Retry-After opens it for exactly that long. State is per replica on purpose:
 * it reflects what this process observes of the upstream.
 */

export type BreakerState = "closed" | "open" | "half_open";

interface Entry {
  failures: number;
  openUntil: number;
  probing: boolean;
  state: BreakerState;
}

export interface BreakerOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  now?: () => number;
}

export function createCircuitBreakers(opts: BreakerOptions = {}) {
  const threshold = opts.failureThreshold ?? 5;
  const cooldownMs = opts.cooldownMs ?? 30_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const get = (target: string) => {
    let e = entries.get(target);
    if (!e) {
      e = { failures: 0, openUntil: 0, probing: false, state: "closed" };
      entries.set(target, e);
    }
    return e;
  };

  return {
    /** Whether a call to `target` may go now; in half-open state only one probe at a time. */
    tryPass(target: string): boolean {
      const e = get(target);
      if (e.state === "closed") return true;
      if (e.state === "open") {
        if (now() < e.openUntil) return false;
        e.state = "half_open";
        e.probing = false;
      }
      if (e.probing) return false;
      e.probing = true;
      return true;
    },
    /** A call `tryPass` let through was not made after all (e.g. its credential was over its own limit). */
    release(target: string): void {
      const e = entries.get(target);
      if (e) e.probing = false;
    },
    onSuccess(target: string): void {
      const e = get(target);
      e.failures = 0;
      e.state = "closed";
      e.probing = false;
    },
    onFailure(target: string, retryAfterMs?: number): void {
      const e = get(target);
      e.failures += 1;
      e.probing = false;
      if (retryAfterMs !== undefined && retryAfterMs > 0) {
        e.state = "open";
        e.openUntil = Math.max(e.openUntil, now() + retryAfterMs);
      } else if (e.state === "half_open" || e.failures >= threshold) {
        e.state = "open";
        e.openUntil = now() + cooldownMs;
      }
    },
    /** Milliseconds until an open circuit lets a call through again (0 when it would now). */
    retryInMs(target: string): number {
      const e = entries.get(target);
      return e && e.state === "open" ? Math.max(0, e.openUntil - now()) : 0;
    },
    state(target: string): BreakerState {
      const e = entries.get(target);
      if (!e) return "closed";
      if (e.state === "open" && now() >= e.openUntil) return "half_open";
      return e.state;
    },
  };
}

export type CircuitBreakers = ReturnType<typeof createCircuitBreakers>;
