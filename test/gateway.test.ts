/**
 * The gateway end to end, as a user's app sees it: the official OpenAI and
 * Anthropic SDKs pointed at a running Tollgate (changing only base URL and
 * key), against the built-in mock provider and a local fake of OpenAI's API;
 * then what the team sees in the request logs.
 */
import Anthropic from "@anthropic-ai/sdk";
import { calcPrice } from "@pydantic/genai-prices";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";

describe(`gateway through the official SDKs (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-fake-upstream" });
    t = await startTestApp({ env: { OPENAI_API_KEY: "sk-fake-upstream", OPENAI_BASE_URL: `${fake.url}/v1` } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    slug = (await createOrg(owner)).slug;
    await grantCredits(t, slug, "100"); // real-priced models on live keys are billed
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod", logBodies: true })).status,
    ).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "sdk", environment: "live" });
    expect(k.status).toBe(201);
    key = k.body.key;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });

  it("answers a chat completion from the mock provider, with request id and usage", async () => {
    const { data, response } = await openai()
      .chat.completions.create({ model: "mock/echo", messages: [{ role: "user", content: "hello gateway" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("hello gateway");
    expect(data.model).toBe("mock/echo");
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-tollgate-provider")).toBe("mock");
  });

  it("streams, ending with a usage chunk", async () => {
    const stream = await openai().chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "one two three four" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("one two three four");
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("passes tool calls through", async () => {
    const res = await openai().chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "call the weather tool for Paris" }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          },
        },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const call = res.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === "function" && call.function.name).toBe("get_weather");
    expect(res.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("serves embeddings and lists models", async () => {
    const emb = await openai().embeddings.create({ model: "mock/embed", input: ["a", "b"] });
    expect(emb.data).toHaveLength(2);
    const models = await openai().models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toContain("mock/echo");
    expect(ids).toContain("openai/gpt-4o-mini");
    // Every chat/embeddings model the price library knows for a configured provider, not only the featured ones…
    expect(ids).toEqual(expect.arrayContaining(["openai/gpt-4.1-nano", "openai/o1", "openai/text-embedding-ada-002"]));
    // …but no speech, image or realtime models, and nothing of a provider that is not configured.
    for (const id of ["openai/whisper-1", "openai/gpt-image-1", "openai/gpt-realtime", "openai/moderation"])
      expect(ids).not.toContain(id);
    expect(ids.filter((id) => !id.startsWith("openai/") && !id.startsWith("mock/"))).toEqual([]);
    // The billed price: the library's own for gpt-4o (no markup, no override on this instance).
    const pricing = (id: string) =>
      (models.data.find((m) => m.id === id) as unknown as { pricing: Record<string, unknown> }).pricing;
    const lib = calcPrice({ input_tokens: 0, output_tokens: 0 }, "gpt-4o", { providerId: "openai" })!
      .model_price as Record<string, number>;
    expect([lib.input_mtok, lib.cache_read_mtok, lib.output_mtok]).toEqual([2.5, 1.25, 10]);
    expect(pricing("openai/gpt-4o")).toMatchObject({
      input_per_million_micro_usd: "2500000",
      cached_input_per_million_micro_usd: "1250000",
      output_per_million_micro_usd: "10000000",
      free: false,
    });
    expect(pricing("mock/echo")).toEqual({
      input_per_million_micro_usd: "0",
      cached_input_per_million_micro_usd: "0",
      output_per_million_micro_usd: "0",
      free: true,
    });
  });

  it("routes to an OpenAI-format upstream and reports who failed", async () => {
    const ok = await openai().chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(ok.choices[0]!.message.content).toBeTruthy();
    expect(fake.last().headers.authorization).toBe("Bearer sk-fake-upstream");
    // The client's key never travels upstream.
    expect(JSON.stringify(fake.last().headers)).not.toContain(key);

    fake.setFault({ type: "status", status: 400, message: "bad param" }, 1);
    const err = await openai()
      .chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as { error: { source: string } }).error.source).toBe("upstream");
  });

  it("retries a 500 before the first byte and says how many attempts it took", async () => {
    fake.setFault({ type: "status", status: 500 }, 1);
    const { data, response } = await openai()
      .chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "retry me" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-tollgate-attempts")).toBe("2");
  });

  it("ends a stream that breaks mid-way with an error, not a hang", async () => {
    fake.setFault({ type: "reset_after", chunks: 3, delayMs: 200 }, 1);
    const stream = await openai().chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "a long answer please with many words in it" }],
      stream: true,
    });
    let text = "";
    const consume = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    };
    await expect(consume()).rejects.toThrow(/reset|connection/i);
    // What arrived before the break was delivered, and nothing was replayed.
    expect(text.length).toBeGreaterThan(0);
    expect(fake.requests.filter((r) => r.body?.messages?.[0]?.content?.startsWith("a long answer")).length).toBe(1);
  });

  it("refuses bad keys, cookies and disallowed models in OpenAI's error shape", async () => {
    const bad = new OpenAI({ apiKey: "tg_live_notavalidkey", baseURL: `${base}/v1`, maxRetries: 0 });
    await expect(
      bad.chat.completions.create({ model: "mock/echo", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const cookieOnly = await owner.post("/v1/chat/completions", {
      model: "mock/echo",
      messages: [{ role: "user", content: "x" }],
    });
    expect(cookieOnly.status).toBe(401);
    expect(cookieOnly.body.error.code).toBe("missing_api_key");

    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { allowedModels: ["mock/echo"] })).status).toBe(
      200,
    );
    const denied = await openai()
      .chat.completions.create({ model: "mock/lorem", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((denied as { code: string }).code).toBe("model_not_allowed");

    // A provider/* entry allows every model of that provider, and nothing else.
    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { allowedModels: ["mock/*"] })).status).toBe(200);
    const echo = await openai().chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "wildcard" }],
    });
    expect(echo.choices[0]!.message.content).toBe("wildcard");
    const other = await openai()
      .chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(other).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((other as { code: string }).code).toBe("model_not_allowed");
    const listed = (await openai().models.list()).data.map((m) => m.id);
    expect(listed).toContain("mock/echo");
    expect(listed.filter((id) => !id.startsWith("mock/"))).toEqual([]);
    expect((await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { allowedModels: [] })).status).toBe(200);
  });

  it("speaks the Anthropic Messages API, streaming included, for any provider", async () => {
    const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
    const msg = await anthropic.messages.create({
      model: "mock/echo",
      max_tokens: 100,
      system: "be brief",
      messages: [{ role: "user", content: "bonjour" }],
    });
    expect(msg.content[0]).toMatchObject({ type: "text", text: "bonjour" });
    expect(msg.usage.output_tokens).toBeGreaterThan(0);

    const stream = anthropic.messages.stream({
      model: "openai/gpt-4o-mini",
      max_tokens: 100,
      messages: [{ role: "user", content: "stream to me" }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]?.type).toBe("text");
    expect(final.stop_reason).toBe("end_turn");

    const err = await anthropic.messages
      .create({ model: "nope/nothing", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("logs every request, filterable and exportable, and aggregates usage", async () => {
    await t.app.flushLogs();
    const logs = await owner.get(`/api/v1/orgs/${slug}/projects/prod/logs?limit=200`);
    expect(logs.status).toBe(200);
    const rows = logs.body.logs as Array<Record<string, any>>;
    expect(rows.length).toBeGreaterThanOrEqual(10);
    const echo = rows.find((r) => r.modelServed === "mock/echo" && r.outcome === "ok" && r.endpoint === "chat");
    expect(echo).toMatchObject({ provider: "mock", status: 200 });
    expect(echo!.inputTokens).toBeGreaterThan(0);
    expect(rows.some((r) => r.errorSource === "upstream" && r.status === 400)).toBe(true);
    expect(rows.some((r) => r.endpoint === "messages")).toBe(true);

    const detail = await owner.get(`/api/v1/orgs/${slug}/projects/prod/logs/${echo!.requestId}`);
    expect(detail.status).toBe(200);
    expect(JSON.stringify(detail.body.requestBody)).toContain("messages");

    const errors = await owner.get(`/api/v1/orgs/${slug}/projects/prod/logs?outcome=error`);
    expect(errors.body.logs.every((r: { outcome: string }) => r.outcome === "error")).toBe(true);
    const page = await owner.get(`/api/v1/orgs/${slug}/projects/prod/logs?limit=2`);
    expect(page.body.logs).toHaveLength(2);
    const next = await owner.get(`/api/v1/orgs/${slug}/projects/prod/logs?limit=2&cursor=${page.body.nextCursor}`);
    expect(next.body.logs[0].requestId).not.toBe(page.body.logs[0].requestId);

    const csv = await owner.get(`/api/v1/orgs/${slug}/projects/prod/logs/export?format=csv`);
    expect(csv.status).toBe(200);
    expect(String(csv.headers["content-type"])).toContain("text/csv");
    expect(csv.raw.body.split("\n")[0]).toContain("requestId");
    expect(csv.raw.body.trim().split("\n").length).toBe(rows.length + 1);

    const usage = await owner.get(`/api/v1/orgs/${slug}/projects/prod/usage`);
    expect(usage.status).toBe(200);
    const echoUsage = usage.body.usage.find((u: { model: string }) => u.model === "mock/echo");
    expect(echoUsage.requests).toBeGreaterThan(0);
    expect(echoUsage.latencyP95Ms).not.toBeNull();
  });
});
