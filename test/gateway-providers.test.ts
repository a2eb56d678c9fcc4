/**
 * The official SDKs × every built-in provider, through a running Tollgate:
 * the OpenAI SDK against Anthropic- and Gemini-format upstreams, and the
 * Anthropic SDK against OpenAI- and Gemini-format upstreams (local fakes), for
 * plain chat, streaming, tools (streamed tool-call arguments included) and
 * embeddings. The apps change nothing but base URL and key.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startGeminiFake } from "./fakes/gemini-fake.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const ANTHROPIC_WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe(`official SDKs × provider fakes (${storageKind})`, () => {
  let t: TestApp;
  let openaiFake: FakeServer;
  let anthropicFake: FakeServer;
  let geminiFake: FakeServer;
  let base: string;
  let owner: Client;
  let key: string;

  beforeAll(async () => {
    [openaiFake, anthropicFake, geminiFake] = await Promise.all([
      startOpenAIFake({ apiKey: "sk-openai-upstream" }),
      startAnthropicFake({ apiKey: "sk-ant-upstream" }),
      startGeminiFake({ apiKey: "gem-upstream-key" }),
    ]);
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-openai-upstream",
        OPENAI_BASE_URL: `${openaiFake.url}/v1`,
        ANTHROPIC_API_KEY: "sk-ant-upstream",
        ANTHROPIC_BASE_URL: anthropicFake.url,
        GEMINI_API_KEY: "gem-upstream-key",
        GEMINI_BASE_URL: geminiFake.url,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    const slug = (await createOrg(owner)).slug;
    await grantCredits(t, slug, "100"); // real-priced models on live keys are billed
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "sdk", environment: "live" });
    expect(k.status).toBe(201);
    key = k.body.key;
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([openaiFake.close(), anthropicFake.close(), geminiFake.close()]);
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const anthropic = () => new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });

  async function collectOpenAIStream(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    const calls = new Map<number, { id?: string; name?: string; args: string; pieces: number }>();
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      text += c.delta.content ?? "";
      finish = c.finish_reason ?? finish;
      for (const tc of c.delta.tool_calls ?? []) {
        const cur = calls.get(tc.index) ?? { args: "", pieces: 0 };
        if (tc.id) cur.id = tc.id;
        if (tc.function?.name) cur.name = tc.function.name;
        if (tc.function?.arguments) {
          cur.args += tc.function.arguments;
          cur.pieces += 1;
        }
        calls.set(tc.index, cur);
      }
    }
    return { text, finish, usage, calls: [...calls.values()] };
  }

  describe.each([
    { provider: "anthropic", model: "anthropic/claude-3-5-haiku-latest", fake: () => anthropicFake },
    { provider: "gemini", model: "gemini/gemini-2.0-flash", fake: () => geminiFake },
  ])("OpenAI SDK → $provider", ({ provider, model, fake }) => {
    it("chat, non-streaming", async () => {
      const before = fake().requests.length;
      const { data, response } = await openai()
        .chat.completions.create({
          model,
          messages: [
            { role: "system", content: "terse" },
            { role: "user", content: "hello there" },
          ],
          max_tokens: 50,
        })
        .withResponse();
      expect(data.choices[0]!.message.content).toBe("[terse] echo: hello there");
      expect(data.choices[0]!.finish_reason).toBe("stop");
      expect(data.model).toBe(model);
      expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(data.usage!.completion_tokens).toBeGreaterThan(0);
      expect(response.headers.get("x-tollgate-provider")).toBe(provider);
      expect(fake().requests.length).toBe(before + 1);
      // The upstream got the instance's key, never the client's Tollgate key.
      expect(JSON.stringify(fake().last().headers)).not.toContain(key);
    });

    it("chat, streaming with a final usage chunk", async () => {
      const stream = await openai().chat.completions.create({
        model,
        messages: [{ role: "user", content: "one two three four five six" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const out = await collectOpenAIStream(stream);
      expect(out.text).toBe("echo: one two three four five six");
      expect(out.finish).toBe("stop");
      expect(out.usage?.completion_tokens).toBeGreaterThan(0);
    });

    it("tools, non-streaming", async () => {
      const res = await openai().chat.completions.create({
        model,
        messages: [{ role: "user", content: "what is the weather in Paris?" }],
        tools: [WEATHER_TOOL],
      });
      const call = res.choices[0]!.message.tool_calls?.[0];
      expect(res.choices[0]!.finish_reason).toBe("tool_calls");
      expect(call?.type).toBe("function");
      if (call?.type !== "function") throw new Error("no function call");
      expect(call.function.name).toBe("get_weather");
      expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
      expect(call.id).toBeTruthy();

      // The tool result goes back in OpenAI's shape and reaches the provider in its own.
      const next = await openai().chat.completions.create({
        model,
        tools: [WEATHER_TOOL],
        messages: [
          { role: "user", content: "what is the weather in Paris?" },
          res.choices[0]!.message,
          { role: "tool", tool_call_id: call.id, content: "sunny, 21C" },
        ],
      });
      expect(next.choices[0]!.message.content).toBe("Tool said: sunny, 21C");
    });

    it("tools, streaming: the arguments arrive in pieces and add up", async () => {
      const stream = await openai().chat.completions.create({
        model,
        stream: true,
        messages: [{ role: "user", content: "weather in Paris via the tool" }],
        tools: [WEATHER_TOOL],
      });
      const out = await collectOpenAIStream(stream);
      expect(out.finish).toBe("tool_calls");
      expect(out.calls).toHaveLength(1);
      expect(out.calls[0]!.name).toBe("get_weather");
      expect(out.calls[0]!.id).toBeTruthy();
      expect(JSON.parse(out.calls[0]!.args)).toEqual({ city: "Paris" });
      // Anthropic streams input_json_delta fragments; Gemini sends whole calls.
      if (provider === "anthropic") expect(out.calls[0]!.pieces).toBeGreaterThan(1);
    });
  });

  it("OpenAI SDK → gemini embeddings", async () => {
    const emb = await openai().embeddings.create({
      model: "gemini/gemini-embedding-001",
      input: ["alpha", "beta gamma"],
    });
    expect(emb.data).toHaveLength(2);
    expect(emb.data[1]!.index).toBe(1);
    expect(emb.data[0]!.embedding.length).toBeGreaterThan(0);
    expect(emb.model).toBe("gemini/gemini-embedding-001");
    expect(geminiFake.last().path).toContain(":batchEmbedContents");
    expect(geminiFake.last().path).not.toContain("key=");
  });

  it("OpenAI SDK → openai embeddings", async () => {
    const emb = await openai().embeddings.create({ model: "openai/text-embedding-3-small", input: "alpha" });
    expect(emb.data).toHaveLength(1);
    expect(emb.usage.prompt_tokens).toBeGreaterThan(0);
  });

  describe.each([
    { provider: "openai", model: "openai/gpt-4o-mini", fake: () => openaiFake },
    { provider: "gemini", model: "gemini/gemini-2.0-flash", fake: () => geminiFake },
  ])("Anthropic SDK → $provider", ({ provider, model, fake }) => {
    it("messages, non-streaming", async () => {
      const before = fake().requests.length;
      const { data, response } = await anthropic()
        .messages.create({ model, max_tokens: 100, system: "terse", messages: [{ role: "user", content: "bonjour" }] })
        .withResponse();
      expect(data.type).toBe("message");
      expect(data.content[0]).toMatchObject({ type: "text", text: "[terse] echo: bonjour" });
      expect(data.stop_reason).toBe("end_turn");
      expect(data.usage.input_tokens).toBeGreaterThan(0);
      expect(data.usage.output_tokens).toBeGreaterThan(0);
      expect(response.headers.get("x-tollgate-provider")).toBe(provider);
      expect(fake().requests.length).toBe(before + 1);
      expect(JSON.stringify(fake().last().headers)).not.toContain(key);
    });

    it("messages, streaming", async () => {
      const stream = anthropic().messages.stream({
        model,
        max_tokens: 100,
        messages: [{ role: "user", content: "one two three four five" }],
      });
      const deltas: string[] = [];
      stream.on("text", (d) => deltas.push(d));
      const final = await stream.finalMessage();
      expect(deltas.join("")).toBe("echo: one two three four five");
      expect(deltas.length).toBeGreaterThan(1);
      expect(final.content[0]).toMatchObject({ type: "text", text: "echo: one two three four five" });
      expect(final.stop_reason).toBe("end_turn");
      expect(final.usage.output_tokens).toBeGreaterThan(0);
    });

    it("tool_use, non-streaming and back with a tool_result", async () => {
      const msg = await anthropic().messages.create({
        model,
        max_tokens: 200,
        tools: [ANTHROPIC_WEATHER],
        messages: [{ role: "user", content: "weather in Paris?" }],
      });
      expect(msg.stop_reason).toBe("tool_use");
      const use = msg.content.find((b) => b.type === "tool_use");
      expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } });
      if (use?.type !== "tool_use") throw new Error("no tool_use");
      const next = await anthropic().messages.create({
        model,
        max_tokens: 200,
        tools: [ANTHROPIC_WEATHER],
        messages: [
          { role: "user", content: "weather in Paris?" },
          { role: "assistant", content: msg.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "rainy" }] },
        ],
      });
      expect(next.content[0]).toMatchObject({ type: "text", text: "Tool said: rainy" });
    });

    it("tool_use, streaming", async () => {
      const stream = anthropic().messages.stream({
        model,
        max_tokens: 200,
        tools: [ANTHROPIC_WEATHER],
        messages: [{ role: "user", content: "use the weather tool for Paris" }],
      });
      const jsonDeltas: string[] = [];
      stream.on("inputJson", (d) => jsonDeltas.push(d));
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe("tool_use");
      const use = final.content.find((b) => b.type === "tool_use");
      expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } });
      expect(jsonDeltas.join("")).not.toBe("");
    });
  });

  it("Anthropic SDK → mock provider, streaming", async () => {
    const final = await anthropic()
      .messages.stream({ model: "mock/echo", max_tokens: 50, messages: [{ role: "user", content: "mock me" }] })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "mock me" });
  });
});
