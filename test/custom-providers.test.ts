/**
 * Custom providers end to end: CRUD over HTTP with the key sealed (never
 * returned, never in the database or audit log in plaintext, bound to its
 * org and row), the role and tenancy rules, "test connection", and requests
 * through `slug/model` that carry the provider's key and headers — never the
 * client's Tollgate key — and are priced at the provider's model prices.
 * The operator allows 127.0.0.1 (TOLLGATE_ALLOWED_PROVIDER_HOSTS), where the fakes run.
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox } from "../src/platform/secretbox.js";
import { sealContext } from "../src/modules/providers/providers.directory.js";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, rows, team, grantCredits } from "./helpers/fixtures.js";

const PROVIDER_KEY = "sk-custom-provider-key-0123456789";

describe(`custom providers (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let internal: FakeServer;
  let anthropicFake: FakeServer;
  let base: string;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let orgId: string;
  let key: string;

  const body = (over: Record<string, unknown> = {}) => ({
    name: "Team vLLM",
    slug: "team-vllm",
    format: "openai",
    baseUrl: `${fake.url}/v1`,
    apiKey: PROVIDER_KEY,
    headers: { "X-Team": "ml-platform" },
    models: [
      { id: "llama-3", contextWindow: 8192, inputPricePerMillion: "2.5", outputPricePerMillion: 10 },
      { id: "qwen", inputPricePerMillion: "0.000001" },
    ],
    ...over,
  });

  beforeAll(async () => {
    [fake, internal, anthropicFake] = await Promise.all([
      startOpenAIFake({ apiKey: PROVIDER_KEY }),
      startOpenAIFake(),
      startAnthropicFake({ apiKey: "sk-ant-custom" }),
    ]);
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const x = await team(t, "Providers Co");
    ({ owner, admin, member, slug } = x);
    await grantCredits(t, slug, "100"); // priced custom models on live keys are billed
    orgId = x.org.id;
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "App", slug: "main-app" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "k", environment: "live" })).body
      .key;
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([fake.close(), internal.close(), anthropicFake.close()]);
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });

  it("CRUD over HTTP; the key is sealed, hinted, and never returned or stored in plaintext", async () => {
    const created = await owner.post(`/api/v1/orgs/${slug}/providers`, body());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      slug: "team-vllm",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      headerNames: ["X-Team"],
    });
    expect(created.body.apiKeyHint).toBe("sk-…6789");
    expect(created.body.models[0]).toMatchObject({
      id: "llama-3",
      inputPricePerMillionUsd: "2.500000",
      outputPricePerMillionUsd: "10.000000",
      cachedInputPricePerMillionUsd: "2.500000",
    });
    expect(created.body.models[1]).toMatchObject({
      id: "qwen",
      inputPricePerMillionUsd: "0.000001",
      outputPricePerMillionUsd: "0.000000",
    });

    const list = await admin.get(`/api/v1/orgs/${slug}/providers`);
    expect(list.status).toBe(200);
    expect(list.body.providers.map((p: { slug: string }) => p.slug)).toEqual(["team-vllm"]);
    const one = await owner.get(`/api/v1/orgs/${slug}/providers/team-vllm`);
    expect(one.status).toBe(200);

    const renamed = await admin.patch(`/api/v1/orgs/${slug}/providers/team-vllm`, { name: "Team vLLM (GPU)" });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("Team vLLM (GPU)");
    expect(renamed.body.apiKeyHint).toBe("sk-…6789");

    for (const r of [created, list, one, renamed]) {
      expect(JSON.stringify(r.body)).not.toContain(PROVIDER_KEY);
      expect(JSON.stringify(r.body)).not.toContain("ml-platform");
    }
    const stored = await rows<{ row: string }>(
      t,
      sql`select c::text as row from custom_providers c where org_id = ${orgId}`,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.row).not.toContain(PROVIDER_KEY);
    expect(stored[0]!.row).not.toContain(PROVIDER_KEY.slice(3, 20));
    expect(stored[0]!.row).not.toContain("ml-platform");
    const audit = await rows<{ row: string }>(
      t,
      sql`select a::text as row from audit_log a where org_id = ${orgId} and action like 'provider.%'`,
    );
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(audit.map((a) => a.row).join("\n")).not.toContain(PROVIDER_KEY);

    expect((await owner.post(`/api/v1/orgs/${slug}/providers`, body())).status).toBe(409);
    expect((await owner.post(`/api/v1/orgs/${slug}/providers`, body({ slug: "openai" }))).status).toBe(400);

    const temp = await owner.post(`/api/v1/orgs/${slug}/providers`, body({ slug: "temp", name: "Temp" }));
    expect(temp.status).toBe(201);
    expect((await owner.delete(`/api/v1/orgs/${slug}/providers/temp`)).status).toBe(204);
    expect((await owner.get(`/api/v1/orgs/${slug}/providers/temp`)).status).toBe(404);
  });

  it("routes slug/model with the provider's key and headers, never the client's key; prices show in /v1/models", async () => {
    const { data, response } = await openai()
      .chat.completions.create(
        { model: "team-vllm/llama-3", messages: [{ role: "user", content: "hello custom" }] },
        { headers: { "x-team": "spoofed", cookie: "session=abc" } },
      )
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: hello custom");
    expect(data.model).toBe("team-vllm/llama-3");
    expect(response.headers.get("x-tollgate-provider")).toBe("team-vllm");
    const seen = fake.last();
    expect(seen.body.model).toBe("llama-3");
    expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(seen.headers["x-team"]).toBe("ml-platform");
    expect(seen.headers.cookie).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(key);

    // A bare model name a custom provider serves resolves to it too.
    const bare = await openai().chat.completions.create({
      model: "llama-3",
      messages: [{ role: "user", content: "bare" }],
    });
    expect(bare.model).toBe("team-vllm/llama-3");

    const models = await openai().models.list();
    const llama = models.data.find((m) => m.id === "team-vllm/llama-3") as unknown as {
      pricing: Record<string, string>;
      owned_by: string;
      context_window: number;
    };
    expect(llama.owned_by).toBe("team-vllm");
    expect(llama.context_window).toBe(8192);
    expect(llama.pricing).toEqual({
      input_per_million_micro_usd: "2500000",
      cached_input_per_million_micro_usd: "2500000",
      output_per_million_micro_usd: "10000000",
      free: false,
    });

    const unknown = await openai()
      .chat.completions.create({ model: "team-vllm/not-listed", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("an Anthropic-format custom provider answers through the OpenAI API", async () => {
    const res = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Claude proxy",
      slug: "claude-proxy",
      format: "anthropic",
      baseUrl: anthropicFake.url,
      apiKey: "sk-ant-custom",
      models: [{ id: "claude-x" }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const out = await openai().chat.completions.create({
      model: "claude-proxy/claude-x",
      messages: [{ role: "user", content: "via anthropic" }],
    });
    expect(out.choices[0]!.message.content).toBe("echo: via anthropic");
    expect(anthropicFake.last().headers["x-api-key"]).toBe("sk-ant-custom");
  });

  it("test connection: ok against the fake, a clear error against a failing or refusing one", async () => {
    const ok = await owner.post(`/api/v1/orgs/${slug}/providers/team-vllm/test`, {});
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, model: "llama-3", error: null });
    expect((await admin.post(`/api/v1/orgs/${slug}/providers/team-vllm/test`, { model: "qwen" })).body).toMatchObject({
      ok: true,
      model: "qwen",
    });
    expect((await owner.post(`/api/v1/orgs/${slug}/providers/team-vllm/test`, { model: "nope" })).status).toBe(404);

    fake.setFault({ type: "status", status: 500, message: "model server crashed" }, 1);
    const failing = await owner.post(`/api/v1/orgs/${slug}/providers/team-vllm/test`, {});
    expect(failing.body).toMatchObject({ ok: false, error: { kind: "http", status: 500 } });
    expect(failing.body.error.message).toContain("model server crashed");

    const wrongKey = "sk-wrong-key-abcdefghijklmnop";
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/providers`, body({ slug: "wrong-key", name: "Wrong", apiKey: wrongKey })))
        .status,
    ).toBe(201);
    const refused = await owner.post(`/api/v1/orgs/${slug}/providers/wrong-key/test`, {});
    expect(refused.body).toMatchObject({ ok: false, error: { kind: "http", status: 401 } });
    // The fake echoes the key it got; Tollgate scrubs it.
    expect(JSON.stringify(refused.body)).not.toContain(wrongKey);
  });

  it("does not follow a redirect from the provider to an internal address", async () => {
    fake.setFault({ type: "redirect", location: `${internal.url}/v1/chat/completions` }, 1);
    const res = await owner.post(
      "/v1/chat/completions",
      { model: "team-vllm/llama-3", messages: [{ role: "user", content: "redirect me" }] },
      { authorization: `Bearer ${key}` },
    );
    expect(res.status).toBe(502);
    expect(res.body.error.source).toBe("upstream");
    expect(res.body.error.message).toMatch(/redirect/i);
    expect(internal.requests).toHaveLength(0);
    // Not retried either: a redirect is configuration, not a transient failure.
    expect(fake.requests.filter((r) => r.body?.messages?.[0]?.content === "redirect me")).toHaveLength(1);
  });

  it("members cannot read or manage providers (403); other organizations get 404", async () => {
    expect((await member.get(`/api/v1/orgs/${slug}/providers`)).status).toBe(403);
    expect((await member.get(`/api/v1/orgs/${slug}/providers/team-vllm`)).status).toBe(403);
    expect((await member.post(`/api/v1/orgs/${slug}/providers`, body({ slug: "by-member" }))).status).toBe(403);
    expect((await member.patch(`/api/v1/orgs/${slug}/providers/team-vllm`, { name: "x" })).status).toBe(403);
    expect((await member.post(`/api/v1/orgs/${slug}/providers/team-vllm/test`, {})).status).toBe(403);
    expect((await member.delete(`/api/v1/orgs/${slug}/providers/team-vllm`)).status).toBe(403);

    const stranger = await t.signUp();
    const other = await createOrg(stranger);
    expect((await stranger.get(`/api/v1/orgs/${slug}/providers/team-vllm`)).status).toBe(404);
    expect((await stranger.post(`/api/v1/orgs/${slug}/providers/team-vllm/test`, {})).status).toBe(404);
    expect((await stranger.get(`/api/v1/orgs/${other.slug}/providers/team-vllm`)).status).toBe(404);
    expect((await stranger.delete(`/api/v1/orgs/${other.slug}/providers/team-vllm`)).status).toBe(404);

    // Another org's keys cannot route to this org's provider.
    expect(
      (await stranger.post(`/api/v1/orgs/${other.slug}/projects`, { name: "Theirs", slug: "theirs" })).status,
    ).toBe(201);
    const theirKey = (
      await stranger.post(`/api/v1/orgs/${other.slug}/projects/theirs/keys`, { name: "k", environment: "live" })
    ).body.key;
    const res = await stranger.post(
      "/v1/chat/completions",
      { model: "team-vllm/llama-3", messages: [{ role: "user", content: "x" }] },
      { authorization: `Bearer ${theirKey}` },
    );
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("model_not_found");
  });

  it("a ciphertext moved into another organization's row does not decrypt, and does not break that org's gateway", async () => {
    const stranger = await t.signUp();
    const other = await createOrg(stranger);
    const theirs = await stranger.post(
      `/api/v1/orgs/${other.slug}/providers`,
      body({ slug: "their-vllm", apiKey: "sk-their-own-key-000000" }),
    );
    expect(theirs.status).toBe(201);
    const [mine] = await rows<{ id: string; secret: string }>(
      t,
      sql`select id, secret from custom_providers where org_id = ${orgId} and slug = 'team-vllm'`,
    );
    const box = createSecretBox(t.config.secret);
    expect(JSON.parse(box.open(mine!.secret, sealContext(orgId, mine!.id))).apiKey).toBe(PROVIDER_KEY);
    expect(() => box.open(mine!.secret, sealContext(other.id, theirs.body.id))).toThrow(/could not be read/);

    await t.db.execute(sql`update custom_providers set secret = ${mine!.secret} where id = ${theirs.body.id}`);
    // Any change drops the org's routing cache; the name is not part of the sealed data.
    expect((await stranger.patch(`/api/v1/orgs/${other.slug}/providers/their-vllm`, { name: "Renamed" })).status).toBe(
      200,
    );

    const probe = await stranger.post(`/api/v1/orgs/${other.slug}/providers/their-vllm/test`, {});
    expect(probe.status).toBe(500);
    expect(probe.body.error.code).toBe("SECRET_UNREADABLE");
    expect(JSON.stringify(probe.body)).not.toContain(PROVIDER_KEY);

    expect((await stranger.post(`/api/v1/orgs/${other.slug}/projects`, { name: "Swap", slug: "swap" })).status).toBe(
      201,
    );
    const theirKey = (
      await stranger.post(`/api/v1/orgs/${other.slug}/projects/swap/keys`, { name: "k", environment: "live" })
    ).body.key;
    const before = fake.requests.length;
    const via = await stranger.post(
      "/v1/chat/completions",
      { model: "their-vllm/llama-3", messages: [{ role: "user", content: "x" }] },
      { authorization: `Bearer ${theirKey}` },
    );
    // Left out of routing (and logged for the operator): the model is not found.
    expect(via.status).toBe(404);
    expect(JSON.stringify(via.body)).not.toContain(PROVIDER_KEY);
    expect(fake.requests.length).toBe(before);
    // The rest of the org's routing keeps working.
    const mock = await stranger.post(
      "/v1/chat/completions",
      { model: "mock/echo", messages: [{ role: "user", content: "still fine" }] },
      { authorization: `Bearer ${theirKey}` },
    );
    expect(mock.status).toBe(200);
  });

  it("deleting a provider stops routing to it at once", async () => {
    expect((await owner.delete(`/api/v1/orgs/${slug}/providers/wrong-key`)).status).toBe(204);
    const res = await owner.post(
      "/v1/chat/completions",
      { model: "wrong-key/llama-3", messages: [{ role: "user", content: "x" }] },
      { authorization: `Bearer ${key}` },
    );
    expect(res.status).toBe(404);
  });
});
