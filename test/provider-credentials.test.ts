/**
 * Several credentials per provider, end to end against fakes on loopback: an
 * organization gives a provider two accounts' keys with weights (shown as
 * hints, sealed at rest); calls split by weight; one account rate limited
 * fails over to the other before the first byte (its circuit then skips it);
 * a credential over its own requests-per-minute limit is skipped, and when
 * every one is, the client gets 429 with Retry-After; the charge is the usage
 * of the call that answered; Azure OpenAI resources in two regions fail over
 * to each other; the connection test reports each credential; editing keeps
 * stored keys by id; and the instance's OPENAI_API_KEY may list several keys.
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox } from "../src/platform/secretbox.js";
import { sealContext } from "../src/modules/providers/providers.directory.js";
import { type AzureFake, startAzureFake } from "./fakes/azure-fake.js";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, logRowOf, rows, team } from "./helpers/fixtures.js";

const KEY_A = "sk-account-a-0123456789abcdef";
const KEY_B = "sk-account-b-fedcba9876543210";
const ENV_1 = "sk-env-one-00000000000000";
const ENV_2 = "sk-env-two-11111111111111";
const USAGE = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
const PRICES = { id: "gpt-4o", inputPricePerMillion: "2", outputPricePerMillion: "8" };
/** 1,000 × $2/M + 500 × $8/M. */
const CALL_COST = "6000";

describe(`several credentials per provider (${storageKind})`, () => {
  let t: TestApp;
  let accounts: OpenAIFake;
  let envAccounts: OpenAIFake;
  let east: AzureFake;
  let west: AzureFake;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;
  const keyStatus: Record<string, { status: number; retryAfter?: string }> = {};

  const providers = () => `/api/v1/orgs/${slug}/providers`;
  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const usedKey = (r: { headers: Record<string, unknown> }) => String(r.headers.authorization).replace("Bearer ", "");
  async function call(model: string, stream = false) {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "hello" }] }),
    });
    const text = await res.text();
    return { res, text, requestId: res.headers.get("x-request-id") };
  }
  const logged = async (requestId: string | null) =>
    (await logRowOf<{ c: string; attempts: Array<Record<string, unknown>> }>(
      t,
      requestId,
      "cost_micro_usd::text as c, attempts",
    ))!;

  beforeAll(async () => {
    [accounts, envAccounts, east, west] = await Promise.all([
      startOpenAIFake({ apiKey: [KEY_A, KEY_B], usage: USAGE, keyStatus }),
      startOpenAIFake({ apiKey: [ENV_2], usage: USAGE }),
      startAzureFake({ apiKey: KEY_A, deployments: { "gpt-4o": "gpt-4o-2024-08-06" } }),
      startAzureFake({ apiKey: KEY_B, deployments: { "gpt-4o": "gpt-4o-2024-08-06" } }),
    ]);
    t = await startTestApp({
      env: {
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        OPENAI_API_KEY: `${ENV_1},${ENV_2}`,
        OPENAI_BASE_URL: `${envAccounts.url}/v1`,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Accounts Co"));
    await grantCredits(t, slug, "100");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "main-app", slug: "main-app" })).status).toBe(
      201,
    );
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "k", environment: "live" })).body
      .key;
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await Promise.all([accounts.close(), envAccounts.close(), east.close(), west.close()]);
  });

  it("a provider takes two accounts' keys with weights: hints shown, keys sealed, calls split by weight", async () => {
    const created = await owner.post(providers(), {
      name: "Two accounts",
      slug: "duo",
      format: "openai",
      baseUrl: `${accounts.url}/v1`,
      credentials: [{ apiKey: KEY_A, weight: 3 }, { apiKey: KEY_B }],
      models: [PRICES],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.apiKeyHint).toBe("2 credentials");
    expect(created.body.credentials).toEqual([
      { id: expect.stringMatching(/^cr_/), hint: "sk-…cdef", weight: 3, rpm: null, baseUrl: null },
      { id: expect.stringMatching(/^cr_/), hint: "sk-…3210", weight: 1, rpm: null, baseUrl: null },
    ]);
    expect(JSON.stringify(created.body)).not.toMatch(/sk-account/);
    const [row] = await rows<{ id: string; org_id: string; secret: string; settings: unknown }>(
      t,
      sql`select id, org_id, secret, settings from custom_providers where slug = 'duo'`,
    );
    expect(row!.secret + JSON.stringify(row!.settings)).not.toMatch(/sk-account/);
    const sealed = JSON.parse(createSecretBox(t.config.secret).open(row!.secret, sealContext(row!.org_id, row!.id)));
    expect(Object.values(sealed.credentials)).toEqual([KEY_A, KEY_B]);

    const before = accounts.requests.length;
    const results = await Promise.all(Array.from({ length: 200 }, () => call("duo/gpt-4o")));
    expect(results.every((r) => r.res.status === 200)).toBe(true);
    const seen = accounts.requests.slice(before).map(usedKey);
    const toA = seen.filter((k) => k === KEY_A).length;
    // 3:1 → 150 of 200 expected; ±25 is more than four standard deviations.
    expect(seen).toHaveLength(200);
    expect(toA).toBeGreaterThan(125);
    expect(toA).toBeLessThan(175);
  });

  it("an account rate limited fails over to the other before the first byte, billed once; its circuit then skips it", async () => {
    keyStatus[KEY_A] = { status: 429, retryAfter: "30" };
    const ids = (await owner.get(`${providers()}/duo`)).body.credentials.map((c: { id: string }) => c.id);
    // Weight 1,000 to A: A is tried first on nearly every call.
    expect(
      (
        await owner.patch(`${providers()}/duo`, {
          credentials: [
            { id: ids[0], weight: 1000 },
            { id: ids[1], weight: 1 },
          ],
        })
      ).status,
    ).toBe(200);
    let first: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 20 && !first; i++) {
      const r = await call("duo/gpt-4o");
      if ((await logged(r.requestId)).attempts.some((a) => a.outcome === "error")) first = r;
    }
    expect(first!.res.status).toBe(200);
    expect(first!.res.headers.get("x-tollgate-attempts")).toBe("2");
    const row = await logged(first!.requestId);
    expect(row.attempts).toMatchObject([
      { target: "duo/gpt-4o", credential: ids[0], outcome: "error", status: 429 },
      { target: "duo/gpt-4o", credential: ids[1], outcome: "ok" },
    ]);
    expect(row.c).toBe(CALL_COST);

    // A's circuit is open for the Retry-After: the next calls skip it without calling it.
    const before = accounts.requests.length;
    const next = await call("duo/gpt-4o");
    expect(next.res.status).toBe(200);
    expect(accounts.requests.slice(before).map(usedKey)).toEqual([KEY_B]);
    const skipped = await logged(next.requestId);
    if (skipped.attempts.length === 2) expect(skipped.attempts[0]).toMatchObject({ outcome: "skipped_circuit_open" });

    // Streamed the same way.
    const streamed = await call("duo/gpt-4o", true);
    expect(streamed.res.status).toBe(200);
    expect(streamed.text).toContain("echo: hello");
    delete keyStatus[KEY_A];
  });

  it("a credential over its own requests-per-minute limit is skipped; every one over it answers 429", async () => {
    const created = await owner.post(providers(), {
      name: "Limited",
      slug: "limited",
      format: "openai",
      baseUrl: `${accounts.url}/v1`,
      credentials: [
        { apiKey: KEY_A, weight: 1000, rpm: 2 },
        { apiKey: KEY_B, weight: 1, rpm: 1 },
      ],
      models: [PRICES],
    });
    expect(created.body.credentials.map((c: { rpm: number }) => c.rpm)).toEqual([2, 1]);
    const [a, b] = created.body.credentials.map((c: { id: string }) => c.id);
    // Three calls a minute in all (A two, B one), whichever is tried first.
    const served: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call("limited/gpt-4o");
      expect(r.res.status).toBe(200);
      const ok = (await logged(r.requestId)).attempts.find((x) => x.outcome === "ok");
      served.push(ok!.credential === a ? "a" : ok!.credential === b ? "b" : "?");
    }
    expect(served.sort()).toEqual(["a", "a", "b"]);
    const refused = await call("limited/gpt-4o");
    expect(refused.res.status).toBe(429);
    expect(Number(refused.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.parse(refused.text).error.code).toBe("upstream_rate_limited");
    // Neither was called: both were over their limit.
    expect((await logged(refused.requestId)).attempts.map((x) => x.outcome)).toEqual([
      "skipped_rate_limited",
      "skipped_rate_limited",
    ]);
  });

  it("Azure OpenAI resources in two regions: one down fails over to the other; the test reports each", async () => {
    const created = await owner.post(providers(), {
      name: "Azure regions",
      slug: "az-regions",
      format: "azure",
      baseUrl: east.url,
      credentials: [
        { apiKey: KEY_A, weight: 1000 },
        { apiKey: KEY_B, baseUrl: west.url },
      ],
      models: [PRICES],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.credentials[1]).toMatchObject({ baseUrl: west.url });
    const tested = await owner.post(`${providers()}/az-regions/test`, {});
    expect(tested.body).toMatchObject({ ok: true, credentials: [{ ok: true }, { ok: true }] });
    expect(east.last().headers["api-key"]).toBe(KEY_A);
    expect(west.last().headers["api-key"]).toBe(KEY_B);

    east.setFault({ type: "status", status: 503 });
    const r = await call("az-regions/gpt-4o");
    expect(r.res.status).toBe(200);
    expect(west.last().path).toBe("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    const down = await owner.post(`${providers()}/az-regions/test`, {});
    expect(down.body).toMatchObject({ ok: false, credentials: [{ ok: false }, { ok: true }] });
    expect(down.body.error.message).toMatch(/^Credential cr_/);
    east.setFault(undefined);

    // A credential's endpoint passes the same checks as the provider's.
    const bad = await owner.patch(`${providers()}/az-regions`, {
      credentials: [{ apiKey: KEY_A, baseUrl: "http://169.254.169.254" }],
    });
    expect(bad.body.error.code).toBe("BASE_URL_FORBIDDEN_ADDRESS");
    const path = await owner.patch(`${providers()}/az-regions`, {
      credentials: [{ apiKey: KEY_A, baseUrl: `${west.url}/openai/deployments/x` }],
    });
    expect(path.body.error.code).toBe("AZURE_ENDPOINT_INVALID");
  });

  it("editing keeps stored keys by id; bad credential lists are refused; one apiKey replaces them", async () => {
    const current = (await owner.get(`${providers()}/duo`)).body.credentials;
    const kept = await owner.patch(`${providers()}/duo`, {
      credentials: [{ id: current[1].id, weight: 5, rpm: 100 }],
    });
    expect(kept.body.credentials).toEqual([{ ...current[1], weight: 5, rpm: 100 }]);
    expect(kept.body.apiKeyHint).toBe("1 credential");
    const before = accounts.requests.length;
    expect((await call("duo/gpt-4o")).res.status).toBe(200);
    expect(accounts.requests.slice(before).map(usedKey)).toEqual([KEY_B]);

    const code = async (body: Record<string, unknown>) =>
      (await owner.patch(`${providers()}/duo`, body)).body.error?.code;
    expect(await code({ credentials: [{ id: "cr_nope", weight: 1 }] })).toBe("CREDENTIAL_NOT_FOUND");
    expect(await code({ credentials: [{ weight: 2 }] })).toBe("CREDENTIAL_KEY_REQUIRED");
    expect(await code({ credentials: [{ apiKey: KEY_A }], apiKey: KEY_B })).toBe("CREDENTIALS_AND_API_KEY");
    expect(await code({ credentials: [] })).toBe("VALIDATION_ERROR");
    expect(await code({ credentials: [{ apiKey: KEY_A, weight: 0 }] })).toBe("VALIDATION_ERROR");
    const vertex = await owner.post(providers(), {
      name: "V",
      slug: "v-creds",
      format: "vertex",
      project: "p1",
      credentials: [{ apiKey: KEY_A }],
    });
    expect(vertex.body.error.code).toBe("CREDENTIALS_FORMAT");

    const single = await owner.patch(`${providers()}/duo`, { apiKey: KEY_A });
    expect(single.body.credentials).toBeUndefined();
    expect(single.body.apiKeyHint).toBe("sk-…cdef");
    const after = accounts.requests.length;
    expect((await call("duo/gpt-4o")).res.status).toBe(200);
    expect(accounts.requests.slice(after).map(usedKey)).toEqual([KEY_A]);
  });

  it("the instance's OPENAI_API_KEY lists two keys: a refused one fails over to the other", async () => {
    const { data, response } = await openai()
      .chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "env" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: env");
    expect(envAccounts.last().headers.authorization).toBe(`Bearer ${ENV_2}`);
    const row = await logged(response.headers.get("x-request-id"));
    expect(row.attempts.at(-1)).toMatchObject({ credential: "2", outcome: "ok" });
    if (row.attempts.length === 2) expect(row.attempts[0]).toMatchObject({ credential: "1", status: 401 });
  });
});
