/**
 * Presets for OpenAI-compatible vendors, end to end against the OpenAI fake on
 * loopback standing in for the vendor: an organization adds Groq by choosing
 * the preset and pasting a key; its models are listed from the vendor's
 * /models at once (a vendor without a list falls back to the price library's,
 * a refused key still saves the provider and says why); the official OpenAI
 * SDK then reaches the vendor's models through `slug/model` and by bare name,
 * billed at the price library's price for exactly the usage reported (a name
 * the library does not know costs the organization nothing, as any custom
 * provider's unpriced model); the Responses API is translated to chat for a
 * vendor; and the operator turns a preset on for the whole instance with
 * GROQ_API_KEY, billed at the library's price (a self-hosted server's, with
 * OLLAMA_BASE_URL, at no cost).
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROVIDER_PRESETS } from "../src/config-presets.js";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, logRowOf, rows, team } from "./helpers/fixtures.js";

const VENDOR_KEY = "gsk_vendor_key_0123456789abcdef";
const INSTANCE_KEY = "gsk_instance_key_9876543210";
/** What the fake reports for every call: priced by the library at Groq's $0.59 in / $0.79 out per million. */
const USAGE = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
const LLAMA = "llama-3.3-70b-versatile";

describe(`provider presets (${storageKind})`, () => {
  let t: TestApp;
  let vendor: OpenAIFake;
  let listless: OpenAIFake;
  let instanceVendor: OpenAIFake;
  let base: string;
  let owner: Client;
  let member: Client;
  let slug: string;
  let key: string;
  const vendorModels = [LLAMA, "team-finetune-v1"];

  const providers = () => `/api/v1/orgs/${slug}/providers`;
  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const logged = async (requestId: string | null) =>
    (await logRowOf<{ c: string; p: string; m: string }>(
      t,
      requestId,
      "cost_micro_usd::text as c, provider as p, model_served as m",
    ))!;

  beforeAll(async () => {
    [vendor, listless, instanceVendor] = await Promise.all([
      startOpenAIFake({ apiKey: VENDOR_KEY, models: vendorModels, usage: USAGE }),
      startOpenAIFake({ apiKey: VENDOR_KEY, usage: USAGE }),
      startOpenAIFake({ apiKey: INSTANCE_KEY, usage: USAGE }),
    ]);
    t = await startTestApp({
      env: {
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        GROQ_API_KEY: INSTANCE_KEY,
        GROQ_BASE_URL: `${instanceVendor.url}/v1`,
        OLLAMA_BASE_URL: `${instanceVendor.url}/v1`,
        OLLAMA_API_KEY: INSTANCE_KEY,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, member, slug } = await team(t, "Preset Co"));
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
    await Promise.all([vendor.close(), listless.close(), instanceVendor.close()]);
  });

  it("lists every preset to signed-in users", async () => {
    const res = await member.get("/api/v1/provider-presets");
    expect(res.status).toBe(200);
    expect(res.body.presets.map((p: { id: string }) => p.id)).toEqual([
      "openrouter",
      "groq",
      "mistral",
      "deepseek",
      "xai",
      "together",
      "fireworks",
      "perplexity",
      "cerebras",
      "ollama",
      "vllm",
      "lmstudio",
    ]);
    expect(res.body.presets.find((p: { id: string }) => p.id === "groq")).toEqual({
      id: "groq",
      name: "Groq",
      baseUrl: "https://api.groq.com/openai/v1",
      selfHosted: false,
      priced: true,
      keysUrl: "https://console.groq.com/keys",
    });
    expect(res.body.presets.filter((p: { selfHosted: boolean }) => p.selfHosted)).toHaveLength(3);
    expect(PROVIDER_PRESETS).toHaveLength(12);
  });

  it("an org adds Groq from its preset and a key: the vendor's models are listed at once, priced by the library", async () => {
    const created = await owner.post(providers(), {
      preset: "groq",
      slug: "my-groq",
      apiKey: VENDOR_KEY,
      baseUrl: `${vendor.url}/v1`,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      slug: "my-groq",
      name: "Groq",
      format: "openai",
      preset: "groq",
      baseUrl: `${vendor.url}/v1`,
      apiKeyHint: "gsk…cdef",
      discovery: { ok: true, count: 2, source: "upstream", error: null },
    });
    expect(JSON.stringify(created.body)).not.toContain(VENDOR_KEY);
    const seen = vendor.last();
    expect(seen).toMatchObject({ method: "GET", path: "/v1/models" });
    expect(seen.headers.authorization).toBe(`Bearer ${VENDOR_KEY}`);
    expect(created.body.discoveredModels).toEqual([
      {
        id: LLAMA,
        contextWindow: null,
        maxOutputTokens: null,
        inputPricePerMillionUsd: "0.590000",
        cachedInputPricePerMillionUsd: "0.590000",
        outputPricePerMillionUsd: "0.790000",
        priced: true,
      },
      {
        id: "team-finetune-v1",
        contextWindow: null,
        maxOutputTokens: null,
        inputPricePerMillionUsd: "0.000000",
        cachedInputPricePerMillionUsd: "0.000000",
        outputPricePerMillionUsd: "0.000000",
        priced: false,
      },
    ]);
    expect((await owner.get(`${providers()}/my-groq`)).body.discoveredModels).toHaveLength(2);
    const [audit] = await rows<{ metadata: { count: number; source: string } }>(
      t,
      sql`select metadata from audit_log where action = 'provider.models_discovered' order by id desc limit 1`,
    );
    expect(audit!.metadata).toMatchObject({ count: 2, source: "upstream" });
  });

  it("the OpenAI SDK reaches the vendor's models, billed at the library's price for exactly the usage reported", async () => {
    const { data, response } = await openai()
      .chat.completions.create({ model: `my-groq/${LLAMA}`, messages: [{ role: "user", content: "hi groq" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: hi groq");
    expect(vendor.last().path).toBe("/v1/chat/completions");
    expect(vendor.last().body.model).toBe(LLAMA);
    // 1,000 input tokens at $0.59/M + 500 output tokens at $0.79/M = 590 + 395 micro-USD.
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.000985");
    expect(await logged(response.headers.get("x-request-id"))).toMatchObject({ c: "985", p: "my-groq" });

    // A discovered model routes by its bare name too; one the library does not know costs nothing.
    const bare = await openai()
      .chat.completions.create({ model: "team-finetune-v1", messages: [{ role: "user", content: "x" }] })
      .withResponse();
    expect(bare.response.headers.get("x-tollgate-provider")).toBe("my-groq");
    expect(await logged(bare.response.headers.get("x-request-id"))).toMatchObject({ c: "0" });

    // A vendor model not (yet) listed still routes by `slug/model`, priced when the library knows it.
    const unlisted = await openai()
      .chat.completions.create({ model: "my-groq/llama-3.1-8b-instant", messages: [{ role: "user", content: "y" }] })
      .withResponse();
    expect(vendor.last().body.model).toBe("llama-3.1-8b-instant");
    expect(await logged(unlisted.response.headers.get("x-request-id"))).toMatchObject({ c: "90" });

    // A streamed answer, usage and all.
    const stream = await openai().chat.completions.create({
      model: `my-groq/${LLAMA}`,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream it" }],
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("echo: stream it");
    expect(usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
  });

  it("the Responses API reaches a vendor through its chat endpoint (vendors are not assumed to speak Responses)", async () => {
    const res = await openai().responses.create({ model: `my-groq/${LLAMA}`, input: "hello responses" });
    expect(res.output_text).toBe("echo: hello responses");
    expect(vendor.last().path).toBe("/v1/chat/completions");
  });

  it("refreshing lists the vendor's models again; a vendor without a list falls back to the library's", async () => {
    vendorModels.push("llama-3.1-8b-instant");
    vendorModels.unshift("whisper-large-v3");
    const refreshed = await owner.post(`${providers()}/my-groq/discover`, {});
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.discovery).toMatchObject({ ok: true, count: 4, source: "upstream" });
    expect(refreshed.body.discoveredModels.map((m: { id: string }) => m.id)).toContain("llama-3.1-8b-instant");
    // The connection test asks the first listed model a chat request can test (not the speech model).
    const tested = await owner.post(`${providers()}/my-groq/test`, {});
    expect(tested.body).toMatchObject({ ok: true, model: LLAMA, error: null });
    expect((await member.post(`${providers()}/my-groq/discover`, {})).status).toBe(403);

    const perplexity = await owner.post(providers(), {
      preset: "perplexity",
      apiKey: VENDOR_KEY,
      baseUrl: `${listless.url}/v1`,
    });
    expect(perplexity.status).toBe(201);
    expect(perplexity.body).toMatchObject({ slug: "perplexity", name: "Perplexity" });
    expect(perplexity.body.discovery).toMatchObject({ ok: true, source: "price-library" });
    const ids = perplexity.body.discoveredModels.map((m: { id: string }) => m.id);
    expect(ids).toContain("sonar-pro");
    // Every component the library prices: sonar-pro also costs $14 per thousand requests.
    const sonar = await openai()
      .chat.completions.create({ model: "perplexity/sonar-pro", messages: [{ role: "user", content: "q" }] })
      .withResponse();
    // 1,000 × $3/M + 500 × $15/M + 1 request × $14/K = 3,000 + 7,500 + 14,000 micro-USD.
    expect(await logged(sonar.response.headers.get("x-request-id"))).toMatchObject({ c: "24500" });
  });

  it("a refused key still saves the provider and says why, without the key; bad combinations are refused", async () => {
    const wrong = "gsk_wrong_key_abcdef123456";
    const res = await owner.post(providers(), {
      preset: "groq",
      slug: "groq-wrong",
      apiKey: wrong,
      baseUrl: `${vendor.url}/v1`,
    });
    expect(res.status).toBe(201);
    expect(res.body.discovery).toMatchObject({ ok: false, count: 0, source: null });
    expect(res.body.discovery.error).toMatch(/401/);
    expect(JSON.stringify(res.body)).not.toContain(wrong);
    expect(res.body.discoveredModels).toBeUndefined();

    const refused = async (body: Record<string, unknown>) => (await owner.post(providers(), body)).body.error?.code;
    expect(await refused({ preset: "groq", slug: "g2", format: "anthropic", apiKey: "k" })).toBe("PRESET_FORMAT");
    expect(await refused({ preset: "nope", apiKey: "k" })).toBe("VALIDATION_ERROR");
    expect(await refused({ slug: "g3", apiKey: "k", baseUrl: `${vendor.url}/v1` })).toBe("VALIDATION_ERROR");
    expect(await refused({ preset: "groq", slug: "g4", apiKey: "k", baseUrl: "http://169.254.169.254/v1" })).toBe(
      "BASE_URL_FORBIDDEN_ADDRESS",
    );
    // The slug defaults to the preset's id: a second Groq needs its own.
    expect(await refused({ preset: "perplexity", apiKey: "k", baseUrl: `${listless.url}/v1` })).toBe(
      "PROVIDER_SLUG_TAKEN",
    );
    // Discovery lists an OpenAI-format provider's models; other formats enter theirs.
    const anthropic = await owner.post(providers(), {
      name: "Claude proxy",
      slug: "claude-proxy",
      format: "anthropic",
      baseUrl: vendor.url,
      apiKey: "k",
    });
    expect(anthropic.status).toBe(201);
    expect((await owner.post(`${providers()}/claude-proxy/discover`, {})).body.error.code).toBe("DISCOVERY_FORMAT");
  });

  it("the operator turns Groq on for the instance with GROQ_API_KEY: listed and billed at the library's price", async () => {
    const list = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    const ids = ((await list.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    expect(ids).toContain(`groq/${LLAMA}`);
    const { response } = await openai()
      .chat.completions.create({ model: `groq/${LLAMA}`, messages: [{ role: "user", content: "instance" }] })
      .withResponse();
    expect(instanceVendor.last().headers.authorization).toBe(`Bearer ${INSTANCE_KEY}`);
    expect(await logged(response.headers.get("x-request-id"))).toMatchObject({ c: "985", p: "groq" });

    // A self-hosted server (OLLAMA_BASE_URL) runs on the team's own hardware: any model, at no cost
    // (not refused as unpriced).
    const local = await openai()
      .chat.completions.create({ model: "ollama/qwen2.5:7b", messages: [{ role: "user", content: "local" }] })
      .withResponse();
    expect(instanceVendor.last().body.model).toBe("qwen2.5:7b");
    expect(await logged(local.response.headers.get("x-request-id"))).toMatchObject({ c: "0", p: "ollama" });
  });
});
