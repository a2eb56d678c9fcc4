/**
 * The Responses API with the clients people use, unchanged, against a running
 * Tollgate: the Vercel AI SDK's default OpenAI provider (it speaks the
 * Responses API), LangChain's ChatOpenAI with `useResponsesApi`, and the
 * official OpenAI SDK against Anthropic- and Gemini-format upstreams
 * (loopback fakes), streaming and tools included.
 */
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startGeminiFake } from "./fakes/gemini-fake.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits, rows } from "./helpers/fixtures.js";

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

describe(`Responses API clients (${storageKind})`, () => {
  let t: TestApp;
  let anthropicFake: FakeServer;
  let geminiFake: FakeServer;
  let base: string;
  let key: string;

  beforeAll(async () => {
    [anthropicFake, geminiFake] = await Promise.all([
      startAnthropicFake({ apiKey: "sk-ant-upstream" }),
      startGeminiFake({ apiKey: "gem-upstream-key" }),
    ]);
    t = await startTestApp({
      env: {
        ANTHROPIC_API_KEY: "sk-ant-upstream",
        ANTHROPIC_BASE_URL: anthropicFake.url,
        GEMINI_API_KEY: "gem-upstream-key",
        GEMINI_BASE_URL: geminiFake.url,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const owner = await t.signUp();
    const slug = (await createOrg(owner)).slug;
    await grantCredits(t, slug, "100");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "sdk", environment: "live" })).body.key;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([anthropicFake?.close(), geminiFake?.close()]);
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const lastLogEndpoint = async () => {
    await t.app.flushLogs();
    const [last] = await rows<{ endpoint: string }>(
      t,
      sql`select endpoint from request_logs order by created_at desc limit 1`,
    );
    return last?.endpoint;
  };

  describe("Vercel AI SDK (default OpenAI provider: the Responses API)", () => {
    const provider = () => createOpenAI({ apiKey: key, baseURL: `${base}/v1` });

    it("generateText", async () => {
      const { text, usage } = await generateText({ model: provider()("mock/echo"), prompt: "hello from the ai sdk" });
      expect(text).toBe("hello from the ai sdk");
      expect(usage.outputTokens).toBeGreaterThan(0);
      expect(await lastLogEndpoint()).toBe("responses");
    });

    it("streamText", async () => {
      const result = streamText({ model: provider()("anthropic/claude-3-5-haiku-latest"), prompt: "stream it" });
      let text = "";
      for await (const part of result.textStream) text += part;
      expect(text).toBe("echo: stream it");
      expect((await result.usage).outputTokens).toBeGreaterThan(0);
    });

    it("tools over two steps (the tool result goes back through the Responses API)", async () => {
      const { text, steps } = await generateText({
        model: provider()("anthropic/claude-3-5-haiku-latest"),
        prompt: "what is the weather in Paris?",
        tools: {
          get_weather: tool({
            description: "Weather for a city",
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => `sunny in ${city}`,
          }),
        },
        stopWhen: stepCountIs(2),
      });
      expect(steps[0]!.toolCalls[0]).toMatchObject({ toolName: "get_weather", input: { city: "Paris" } });
      expect(text).toBe("Tool said: sunny in Paris");
    });
  });

  describe("LangChain ChatOpenAI with useResponsesApi", () => {
    const llm = (model: string) =>
      new ChatOpenAI({
        model,
        apiKey: key,
        configuration: { baseURL: `${base}/v1` },
        useResponsesApi: true,
        maxRetries: 0,
      });

    it("invoke", async () => {
      const msg = await llm("gemini/gemini-2.0-flash").invoke("hello langchain");
      expect(msg.content).toEqual([expect.objectContaining({ type: "text", text: "echo: hello langchain" })]);
      expect(await lastLogEndpoint()).toBe("responses");
    });

    it("stream", async () => {
      let text = "";
      for await (const chunk of await llm("mock/echo").stream("streamed words here")) {
        for (const c of Array.isArray(chunk.content) ? chunk.content : [chunk.content])
          text += typeof c === "string" ? c : ((c as { text?: string }).text ?? "");
      }
      expect(text).toBe("streamed words here");
    });
  });

  describe.each([
    { provider: "anthropic", model: "anthropic/claude-3-5-haiku-latest", fake: () => anthropicFake },
    { provider: "gemini", model: "gemini/gemini-2.0-flash", fake: () => geminiFake },
  ])("OpenAI SDK responses → $provider", ({ provider, model, fake }) => {
    it("instructions and input translate; the answer renders as a response", async () => {
      const before = fake().requests.length;
      const r = await openai().responses.create({ model, instructions: "terse", input: "hello there" });
      expect(r.output_text).toBe("[terse] echo: hello there");
      expect(r.model).toBe(model);
      expect(r.usage!.input_tokens).toBeGreaterThan(0);
      expect(fake().requests.length).toBe(before + 1);
      const sent = fake().last().body;
      if (provider === "anthropic") expect(sent.system).toEqual(expect.stringContaining("terse"));
      else expect(JSON.stringify(sent.systemInstruction)).toContain("terse");
    });

    it("tools: a function call, its output back with previous_response_id", async () => {
      const first = await openai().responses.create({
        model,
        input: "what is the weather in Paris?",
        tools: [WEATHER],
      });
      const call = first.output.find((o) => o.type === "function_call");
      if (call?.type !== "function_call") throw new Error("no function call");
      expect(call.name).toBe("get_weather");
      expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
      const second = await openai().responses.create({
        model,
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny, 21C" }],
        tools: [WEATHER],
      });
      expect(second.output_text).toBe("Tool said: sunny, 21C");
    });

    it("streaming text and streaming tool calls", async () => {
      const text = await openai().responses.stream({ model, input: "one two three four" }).finalResponse();
      expect(text.output_text).toBe("echo: one two three four");
      const tools = await openai()
        .responses.stream({ model, input: "weather in Paris via the tool", tools: [WEATHER] })
        .finalResponse();
      const call = tools.output.find((o) => o.type === "function_call");
      if (call?.type !== "function_call") throw new Error("no function call");
      expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
    });
  });
});
