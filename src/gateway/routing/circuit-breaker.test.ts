import { describe, expect, it } from "vitest";
import { createCircuitBreakers } from "./circuit-breaker.js";

describe("circuit breaker", () => {
  it("opens after consecutive failures, half-opens after the cooldown, closes on a good probe", () => {
    let t = 0;
    const b = createCircuitBreakers({ failureThreshold: 3, cooldownMs: 1000, now: () => t });
    for (let i = 0; i < 3; i++) {
      expect(b.tryPass("x")).toBe(true);
      b.onFailure("x");
    }
    expect(b.state("x")).toBe("open");
    expect(b.tryPass("x")).toBe(false);
    t = 1000;
    expect(b.state("x")).toBe("half_open");
    expect(b.tryPass("x")).toBe(true);
    expect(b.tryPass("x")).toBe(false); // one probe at a time
    b.onSuccess("x");
    expect(b.state("x")).toBe("closed");
    expect(b.tryPass("x")).toBe(true);
  });

  it("re-opens when the probe fails", () => {
    let t = 0;
    const b = createCircuitBreakers({ failureThreshold: 1, cooldownMs: 500, now: () => t });
    b.onFailure("x");
    t = 500;
    expect(b.tryPass("x")).toBe(true);
    b.onFailure("x");
    expect(b.state("x")).toBe("open");
    expect(b.tryPass("x")).toBe(false);
  });

  it("honours Retry-After for exactly that long", () => {
    let t = 0;
    const b = createCircuitBreakers({ failureThreshold: 100, now: () => t });
    b.onFailure("x", 30_000);
    expect(b.tryPass("x")).toBe(false);
    t = 29_999;
    expect(b.tryPass("x")).toBe(false);
    t = 30_000;
    expect(b.tryPass("x")).toBe(true);
    expect(b.tryPass("y")).toBe(true);
  });

  it("says how long an open circuit stays open (what a client skipped by it is told to wait)", () => {
    let t = 0;
    const b = createCircuitBreakers({ failureThreshold: 100, now: () => t });
    expect(b.retryInMs("x")).toBe(0);
    b.onFailure("x", 30_000);
    t = 10_000;
    expect(b.retryInMs("x")).toBe(20_000);
    t = 30_000;
    expect(b.retryInMs("x")).toBe(0);
  });
});
