/**
 * /metrics is shared by every organization on the instance (and public unless
 * TOLLGATE_METRICS_TOKEN is set): it never carries a custom provider's slug or
 * model ids, and tenants cannot grow its series. Built-in providers keep their
 * names and known models; other names sent to a built-in count as
 * `<provider>/other`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";

const SECRET_SLUG = "acme-prod-7f3a9c";
const SECRET_MODEL = "ft-payroll-ssn-model-2b";
const TYPED_NAME = "gpt-client-typed-codename";
const MANY = 50;

/** Every `name{labels} value` line of one metric family (histograms by their `_count`). */
const seriesOf = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`));

describe(`/metrics labels across tenants (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let owner: Client;
  let key: string;
  let metrics: string;

  const chat = (model: string) =>
    t.app.server.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      payload: { model, messages: [{ role: "user", content: "hi" }] },
    });

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-upstream" });
    t = await startTestApp({
      env: {
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        OPENAI_API_KEY: "sk-upstream",
        OPENAI_BASE_URL: `${fake.url}/v1`,
      },
    });
    owner = await t.signUp();
    const { slug } = await createOrg(owner);
    await grantCredits(t, slug, "50");
    const models = [
      { id: SECRET_MODEL, inputPricePerMillion: "1" },
      ...Array.from({ length: MANY }, (_, i) => ({ id: `tenant-model-${i}` })),
    ];
    const created = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Acme",
      slug: SECRET_SLUG,
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-upstream",
      models,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "live" })).body.key;

    expect((await chat(`${SECRET_SLUG}/${SECRET_MODEL}`)).statusCode).toBe(200);
    expect((await chat(SECRET_MODEL)).statusCode).toBe(200); // a bare name finds the custom provider too
    for (let i = 0; i < MANY; i++) expect((await chat(`${SECRET_SLUG}/tenant-model-${i}`)).statusCode).toBe(200);
    expect((await chat("openai/gpt-4o-mini")).statusCode).toBe(200);
    // A name the price library does not list: refused or not, it must not become a label.
    await chat(`openai/${TYPED_NAME}`);
    await t.app.flushLogs();
    const res = await t.anon.get("/metrics");
    expect(res.status).toBe(200);
    metrics = res.body as string;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it("never shows a custom provider's slug or model ids, nor a typed model name", () => {
    expect(metrics).not.toContain(SECRET_SLUG);
    expect(metrics).not.toContain(SECRET_MODEL);
    expect(metrics).not.toContain("tenant-model-");
    expect(metrics).not.toContain(TYPED_NAME);
  });

  it("counts custom traffic under provider and model `custom`; built-ins keep their names", () => {
    const ok = seriesOf(metrics, "tollgate_gateway_requests_total").filter((l) => l.includes('outcome="ok"'));
    const custom = ok.filter((l) => l.includes('provider="custom"'));
    expect(custom).toHaveLength(1);
    expect(custom[0]).toContain('model="custom"');
    expect(Number(custom[0]!.split(" ").pop())).toBe(MANY + 2);
    expect(ok.some((l) => l.includes('provider="openai"') && l.includes('model="openai/gpt-4o-mini"'))).toBe(true);
    const attempts = seriesOf(metrics, "tollgate_upstream_attempts_total").find(
      (l) => l.includes('provider="custom"') && l.includes('outcome="ok"'),
    );
    expect(Number(attempts!.split(" ").pop())).toBe(MANY + 2);
  });

  it("the series count stays bounded with 50 different custom models", () => {
    for (const name of [
      "tollgate_gateway_tokens_total",
      "tollgate_gateway_cost_micro_usd_total",
      "tollgate_gateway_time_to_first_token_seconds_count",
    ]) {
      const custom = seriesOf(metrics, name).filter((l) => l.includes('provider="custom"'));
      // As many series as one model would make: tokens one per kind (input, cached_input, output), the others one.
      expect(custom.length, name).toBe(name === "tollgate_gateway_tokens_total" ? 3 : 1);
    }
    const requests = seriesOf(metrics, "tollgate_gateway_requests_total");
    expect(requests.length).toBeLessThanOrEqual(4);
  });
});
