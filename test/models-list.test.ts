/**
 * `GET /v1/models` shows what each model is billed at, on an instance with a
 * 10 % markup and an operator price for `mock/lorem`: built-in models marked
 * up (every component the library sets, long-context tiers included), `mock`
 * free, overrides marked up, a custom provider's own prices left as they are;
 * the full library list of each configured built-in provider; the project's
 * allowed models filter it. Built-ins point at an unused loopback port: listing
 * models calls no provider.
 */
import { calcPrice } from "@pydantic/genai-prices";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";

type Listed = { id: string; owned_by: string; context_window: number | null; pricing: Record<string, any> };

const NOWHERE = "http://127.0.0.1:9";
/** USD per million (or per thousand) → micro-USD with a 10 % markup, rounded up as billing rounds. */
const marked = (usd: number) => {
  const micro = BigInt(Math.round(usd * 1_000_000));
  return ((micro * 110n + 99n) / 100n).toString();
};
const libraryPrice = (model: string, providerId: string) =>
  calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId })!.model_price as Record<string, any>;

describe(`/v1/models prices as billed (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let slug: string;

  const keyFor = async (project: string, body: Record<string, unknown> = {}) => {
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: project, slug: project, ...body })).status).toBe(
      201,
    );
    return (await owner.post(`/api/v1/orgs/${slug}/projects/${project}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  };
  const list = async (key: string): Promise<Listed[]> => {
    const res = await owner.get("/v1/models", { authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    expect(res.body.object).toBe("list");
    return res.body.data;
  };

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        TOLLGATE_MARKUP_PERCENT: "10",
        TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/lorem": { input: "1", output: "2" } }),
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        OPENAI_API_KEY: "sk-unused",
        OPENAI_BASE_URL: `${NOWHERE}/v1`,
        ANTHROPIC_BASE_URL: NOWHERE,
        GEMINI_BASE_URL: NOWHERE,
      },
    });
    owner = await t.signUp();
    slug = (await createOrg(owner)).slug;
    const p = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Own",
      slug: "own-llm",
      format: "openai",
      baseUrl: `${NOWHERE}/v1`,
      apiKey: "sk-own",
      models: [
        { id: "llama-3", contextWindow: 8192, inputPricePerMillion: "2.5", outputPricePerMillion: "10" },
        { id: "free-one" },
      ],
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
  });
  afterAll(() => t?.close());

  it("shows the effective price of every model: markup on built-ins and overrides, none on mock or custom providers", async () => {
    const data = await list(await keyFor("all"));
    const byId = new Map(data.map((m) => [m.id, m]));

    // The library's gpt-4o (2.5 / 1.25 / 10 USD, web searches 10 USD per thousand) plus 10 %.
    expect(byId.get("openai/gpt-4o")).toMatchObject({ owned_by: "openai", context_window: 128000 });
    expect(byId.get("openai/gpt-4o")!.pricing).toEqual({
      input_per_million_micro_usd: "2750000",
      cached_input_per_million_micro_usd: "1375000",
      output_per_million_micro_usd: "11000000",
      per_thousand_web_searches_micro_usd: "11000000",
      per_thousand_file_searches_micro_usd: "2750000",
      free: false,
    });

    // Every component the library sets is shown (here cache writes, 5-minute and 1-hour).
    const sonnet = libraryPrice("claude-sonnet-4-0", "anthropic");
    expect(byId.get("anthropic/claude-sonnet-4-0")!.pricing).toMatchObject({
      input_per_million_micro_usd: marked(sonnet.input_mtok),
      cached_input_per_million_micro_usd: marked(sonnet.cache_read_mtok),
      output_per_million_micro_usd: marked(sonnet.output_mtok),
      cache_write_per_million_micro_usd: marked(sonnet.cache_write_mtok),
      cache_write_1h_per_million_micro_usd: marked(sonnet.cache_write_1h_mtok),
      free: false,
    });

    // Long-context tiers, each marked up too.
    const pro = libraryPrice("gemini-2.5-pro", "google");
    const proListed = byId.get("gemini/gemini-2.5-pro")!.pricing;
    expect(proListed).toMatchObject({
      input_per_million_micro_usd: marked(pro.input_mtok.base),
      output_per_million_micro_usd: marked(pro.output_mtok.base),
    });
    expect(proListed.tiers).toEqual([
      {
        above_input_tokens: pro.input_mtok.tiers[0].start,
        input_per_million_micro_usd: marked(pro.input_mtok.tiers[0].price),
        cached_input_per_million_micro_usd: marked(pro.cache_read_mtok.tiers[0].price),
        output_per_million_micro_usd: marked(pro.output_mtok.tiers[0].price),
      },
    ]);

    // mock is free (no markup on nothing); the operator's price for mock/lorem is marked up like any override.
    expect(byId.get("mock/echo")!.pricing).toEqual({
      input_per_million_micro_usd: "0",
      cached_input_per_million_micro_usd: "0",
      output_per_million_micro_usd: "0",
      free: true,
    });
    expect(byId.get("mock/lorem")!.pricing).toEqual({
      input_per_million_micro_usd: "1100000",
      cached_input_per_million_micro_usd: "1100000",
      output_per_million_micro_usd: "2200000",
      free: false,
    });

    // A custom provider's models at its own prices: the organization pays that provider itself, no markup.
    expect(byId.get("own-llm/llama-3")).toMatchObject({ owned_by: "own-llm", context_window: 8192 });
    expect(byId.get("own-llm/llama-3")!.pricing).toEqual({
      input_per_million_micro_usd: "2500000",
      cached_input_per_million_micro_usd: "2500000",
      output_per_million_micro_usd: "10000000",
      free: false,
    });
    expect(byId.get("own-llm/free-one")!.pricing).toMatchObject({
      input_per_million_micro_usd: "0",
      output_per_million_micro_usd: "0",
      free: true,
    });
  });

  it("lists the price library's chat and embeddings models of each configured built-in provider", async () => {
    const ids = (await list(await keyFor("catalog"))).map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        "openai/gpt-4.1-nano",
        "anthropic/claude-haiku-4-5",
        "gemini/gemini-embedding-001",
        "gemini/gemini-2.5-flash-lite",
      ]),
    );
    for (const id of [
      "openai/whisper-1",
      "openai/gpt-4o-mini-tts",
      "gemini/gemini-2.5-flash-tts",
      "gemini/claude-3-5-sonnet",
      "gemini/gemini-2.5-flash-preview",
    ])
      expect(ids).not.toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps the project's allowed-models filter, provider/* included", async () => {
    const ids = (await list(await keyFor("anthropic-only", { allowedModels: ["anthropic/*", "mock/echo"] }))).map(
      (m) => m.id,
    );
    expect(ids).toContain("mock/echo");
    expect(ids).toContain("anthropic/claude-sonnet-4-0");
    expect(ids.filter((id) => !id.startsWith("anthropic/") && id !== "mock/echo")).toEqual([]);
  });
});
