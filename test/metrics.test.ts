/**
 * GET /metrics as a Prometheus server scrapes it: after real gateway traffic
 * (streamed and not, an error, a cached key) the counters and histograms say
 * what happened, with route templates and routed models as labels (never raw
 * URLs or what a client typed). With TOLLGATE_METRICS_TOKEN the endpoint wants
 * the bearer token.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";

/** Value of the sample whose name and labels match exactly (labels in any order). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.keys(got).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => got[k] === v)
    )
      return Number(m[3]);
  }
  return undefined;
}

describe(`GET /metrics (${storageKind})`, () => {
  let t: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await startTestApp();
    const owner = await t.signUp();
    const { slug } = await createOrg(owner);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "test" })).body.key;
    const chat = (body: Record<string, unknown>) =>
      t.app.server.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload: body,
      });
    expect(
      (await chat({ model: "mock/echo", messages: [{ role: "user", content: "one two three" }] })).statusCode,
    ).toBe(200);
    expect((await chat({ model: "mock/echo", messages: [{ role: "user", content: "four five" }] })).statusCode).toBe(
      200,
    );
    expect(
      (await chat({ model: "mock/lorem", max_tokens: 5, stream: true, messages: [{ role: "user", content: "x" }] }))
        .statusCode,
    ).toBe(200);
    // A model nobody has: a 400 whose label must not be the typed name.
    expect(
      (await chat({ model: "made-up/secret-model-name", messages: [{ role: "user", content: "x" }] })).statusCode,
    ).toBeGreaterThanOrEqual(400);
    await t.app.flushLogs();
  });
  afterAll(() => t.close());

  it("is Prometheus text with gateway, key-cache, log-queue, HTTP and process metrics", async () => {
    const res = await t.anon.get("/metrics");
    expect(res.status).toBe(200);
    expect(String(res.headers["content-type"])).toContain("text/plain");
    const m = res.body as string;

    expect(
      sample(m, "tollgate_gateway_requests_total", {
        endpoint: "chat",
        status: "200",
        outcome: "ok",
        provider: "mock",
        model: "mock/echo",
      }),
    ).toBe(2);
    expect(
      sample(m, "tollgate_gateway_requests_total", {
        endpoint: "chat",
        status: "200",
        outcome: "ok",
        provider: "mock",
        model: "mock/lorem",
      }),
    ).toBe(1);
    expect(m).not.toContain("secret-model-name");
    expect(
      sample(m, "tollgate_gateway_tokens_total", { provider: "mock", model: "mock/lorem", kind: "output" }),
    ).toBeGreaterThanOrEqual(5);
    expect(
      sample(m, "tollgate_gateway_request_duration_seconds_count", {
        endpoint: "chat",
        provider: "mock",
        stream: "true",
      }),
    ).toBe(1);
    expect(sample(m, "tollgate_gateway_overhead_seconds_count", { endpoint: "chat", stream: "false" })).toBe(2);
    expect(sample(m, "tollgate_upstream_latency_seconds_count", { provider: "mock", outcome: "ok" })).toBe(3);
    expect(
      sample(m, "tollgate_gateway_time_to_first_token_seconds_count", { provider: "mock", model: "mock/lorem" }),
    ).toBe(1);

    // Four requests, one key: one database lookup, the rest from the cache.
    expect(sample(m, "tollgate_key_cache_lookups", { result: "miss" })).toBe(1);
    expect(sample(m, "tollgate_key_cache_lookups", { result: "hit" })).toBe(3);
    expect(sample(m, "tollgate_request_log_queue_depth")).toBe(0);
    expect(sample(m, "tollgate_request_log_rows", { fate: "written" })).toBe(4);

    // Billing: three served test-key requests reserved nothing; no hold left in flight, no charge waiting.
    expect(sample(m, "tollgate_billing_reservations_total", { outcome: "free" })).toBe(3);
    expect(sample(m, "tollgate_billing_holds_in_flight")).toBe(0);
    expect(sample(m, "tollgate_billing_debit_queue_depth", { queue: "local" })).toBe(0);

    // HTTP by route template: the org slug never becomes a label value.
    expect(
      sample(m, "tollgate_http_requests_total", { method: "POST", route: "/api/v1/orgs/:org/projects", status: "201" }),
    ).toBe(1);
    expect(sample(m, "tollgate_draining")).toBe(0);
    expect(sample(m, "tollgate_ratelimit_mode", { mode: "local" })).toBe(1);
    expect(sample(m, "process_resident_memory_bytes")).toBeGreaterThan(0);
    if (storageKind === "postgres") expect(sample(m, "tollgate_db_pool_connections", { state: "max" })).toBe(10);
    else expect(m).not.toContain("tollgate_db_pool_connections{");
  });

  it("reports draining once shutdown begins", async () => {
    t.app.beginShutdown();
    expect((await t.anon.get("/readyz")).status).toBe(503);
    expect(sample((await t.anon.get("/metrics")).body, "tollgate_draining")).toBe(1);
  });
});

describe("GET /metrics with TOLLGATE_METRICS_TOKEN", () => {
  let t: TestApp;
  const token = "metrics-token-0123456789abcdef";
  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_METRICS_TOKEN: token } });
  });
  afterAll(() => t.close());

  it("refuses without the token or with a wrong one, answers with it", async () => {
    const none = await t.anon.get("/metrics");
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("UNAUTHENTICATED");
    expect(none.headers["www-authenticate"]).toContain("Bearer");
    expect((await t.anon.get("/metrics", { authorization: "Bearer wrong-token-wrong-token" })).status).toBe(401);
    const ok = await t.anon.get("/metrics", { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("tollgate_gateway_requests_total");
  });
});
