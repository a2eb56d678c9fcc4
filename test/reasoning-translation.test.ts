/**
 * Reasoning across formats, through a running Tollgate with the official
 * SDKs and custom Anthropic- and Gemini-format providers on loopback fakes:
 * `reasoning_effort` (chat) and `reasoning.effort` (Responses) turn on
 * Anthropic thinking (a budget below max_tokens, or adaptive) and Gemini
 * thinking; the thoughts come back as `reasoning_content` (chat, whole and
 * streamed) and as `reasoning` output items (Responses, whole and streamed);
 * a signed thinking block goes back to Anthropic before its tool_use in a
 * tool loop (the fake checks the signature), from chat messages, Responses
 * input items and previous_response_id.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeThinkingSignature, startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startGeminiFake } from "./fakes/gemini-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, team } from "./helpers/fixtures.js";

const WEATHER: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const WEATHER_FN: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

/** The reasoning fields Tollgate adds to chat completions (the SDK types do not know them). */
type Reasoned = { reasoning_content?: string; reasoning_signature?: string };
const reasoned = (m: unknown) => m as Reasoned;

describe(`reasoning across formats (${storageKind})`, () => {
  let t: TestApp;
  let claude: FakeServer;
  let gemini: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  beforeAll(async () => {
    [claude, gemini] = await Promise.all([
      startAnthropicFake({ apiKey: "sk-ant-think" }),
      startGeminiFake({ apiKey: "gem-think" }),
    ]);
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const x = await team(t, "Reasoning Co");
    owner = x.owner;
    slug = x.slug;
    await grantCredits(t, x.slug, "5");
    for (const p of [
      {
        name: "Claude",
        slug: "claude",
        format: "anthropic",
        baseUrl: claude.url,
        apiKey: "sk-ant-think",
        models: [{ id: "claude-sonnet-4-5" }, { id: "claude-opus-4-7" }],
      },
      {
        name: "Gem",
        slug: "gem",
        format: "gemini",
        baseUrl: gemini.url,
        apiKey: "gem-think",
        models: [{ id: "gemini-2.5-flash" }, { id: "gemini-3-pro-preview" }, { id: "gemini-2.0-flash" }],
      },
    ]) {
      const res = await owner.post(`/api/v1/orgs/${x.slug}/providers`, p);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    expect((await owner.post(`/api/v1/orgs/${x.slug}/projects`, { name: "Main app", slug: "main-app" })).status).toBe(
      201,
    );
    key = (await owner.post(`/api/v1/orgs/${x.slug}/projects/main-app/keys`, { name: "live", environment: "live" }))
      .body.key;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([claude?.close(), gemini?.close()]);
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });

  describe("chat completions → Anthropic", () => {
    it("reasoning_effort turns on a thinking budget below max_tokens (temperature left out); the thinking comes back", async () => {
      const res = await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages: [{ role: "user", content: "why is the sky blue" }],
        reasoning_effort: "medium",
        temperature: 0.2,
      });
      const sent = claude.last().body;
      // medium is 4096, capped at the 4096 max_tokens sent minus 1024 kept for the answer.
      expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 3072 });
      expect(sent.max_tokens).toBe(4096);
      expect(sent.temperature).toBeUndefined();
      const message = res.choices[0]!.message;
      expect(message.content).toBe("echo: why is the sky blue");
      expect(reasoned(message).reasoning_content).toBe("Thinking about: why is the sky blue");
      expect(reasoned(message).reasoning_signature).toBe(fakeThinkingSignature("Thinking about: why is the sky blue"));
    });

    it("the output policy covers reasoning, whole and streamed; reasoning it changed loses its signature", async () => {
      const off = { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "off" };
      const rule = { name: "musings", type: "keyword", pattern: "Thinking about", action: "redact" };
      const put = (rules: unknown[]) =>
        owner.put(`/api/v1/orgs/${slug}/security-policy`, { pii: off, promptInjection: { action: "off" }, rules });
      expect((await put([rule])).status).toBe(200);
      try {
        const ask = { model: "claude/claude-sonnet-4-5", messages: [{ role: "user" as const, content: "why" }] };
        const res = await openai().chat.completions.create({ ...ask, reasoning_effort: "medium" });
        const message = reasoned(res.choices[0]!.message);
        expect(message.reasoning_content).toMatch(/^\S+: why$/);
        expect(message.reasoning_content).not.toContain("Thinking about");
        expect(message.reasoning_signature).toBeUndefined();

        const stream = await openai().chat.completions.create({ ...ask, reasoning_effort: "medium", stream: true });
        let thought = "";
        let signed = false;
        for await (const chunk of stream) {
          const d = reasoned(chunk.choices[0]?.delta ?? {});
          thought += d.reasoning_content ?? "";
          signed ||= d.reasoning_signature !== undefined;
        }
        expect(thought).toBe(message.reasoning_content);
        expect(signed).toBe(false);
      } finally {
        await put([]);
      }
    });

    it("no thinking when max_tokens leaves too small a budget, for minimal effort, and without an effort", async () => {
      for (const extra of [
        { reasoning_effort: "low" as const, max_tokens: 2000 },
        { reasoning_effort: "minimal" as const },
        {},
      ]) {
        const res = await openai().chat.completions.create({
          model: "claude/claude-sonnet-4-5",
          messages: [{ role: "user", content: "quick one" }],
          temperature: 0.5,
          ...extra,
        });
        expect(claude.last().body.thinking).toBeUndefined();
        expect(claude.last().body.temperature).toBe(0.5);
        expect(reasoned(res.choices[0]!.message).reasoning_content).toBeUndefined();
      }
    });

    it("Claude 4.6 and later think adaptively, with the effort", async () => {
      const res = await openai().chat.completions.create({
        model: "claude/claude-opus-4-7",
        messages: [{ role: "user", content: "think hard" }],
        reasoning_effort: "high",
      });
      expect(claude.last().body.thinking).toEqual({ type: "adaptive" });
      expect(claude.last().body.output_config).toEqual({ effort: "high" });
      expect(reasoned(res.choices[0]!.message).reasoning_content).toBe("Thinking about: think hard");
    });

    it("streamed: delta.reasoning_content pieces before the text, the signature once", async () => {
      const stream = await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages: [{ role: "user", content: "stream your thoughts please" }],
        reasoning_effort: "low",
        stream: true,
      });
      let reasoning = "";
      let text = "";
      const signatures: string[] = [];
      let textBeforeReasoning = false;
      for await (const chunk of stream) {
        const d = chunk.choices[0]?.delta as (OpenAI.ChatCompletionChunk.Choice.Delta & Reasoned) | undefined;
        if (!d) continue;
        if (d.reasoning_content) {
          if (text) textBeforeReasoning = true;
          reasoning += d.reasoning_content;
        }
        if (d.reasoning_signature) signatures.push(d.reasoning_signature);
        text += d.content ?? "";
      }
      expect(claude.last().body.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
      expect(reasoning).toBe("Thinking about: stream your thoughts please");
      expect(signatures).toEqual([fakeThinkingSignature(reasoning)]);
      expect(text).toBe("echo: stream your thoughts please");
      expect(textBeforeReasoning).toBe(false);
    });

    it("a tool loop: the signed thinking goes back before tool_use; without it the turn runs without thinking", async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "weather in Paris?" }];
      const first = await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages,
        tools: [WEATHER],
        reasoning_effort: "medium",
      });
      const assistant = first.choices[0]!.message;
      expect(assistant.tool_calls).toHaveLength(1);
      expect(reasoned(assistant).reasoning_signature).toBeTruthy();
      const call = assistant.tool_calls![0]!;
      const result: OpenAI.ChatCompletionToolMessageParam = { role: "tool", tool_call_id: call.id, content: "18C" };
      const second = await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages: [...messages, assistant as OpenAI.ChatCompletionMessageParam, result],
        tools: [WEATHER],
        reasoning_effort: "medium",
      });
      expect(second.choices[0]!.message.content).toBe("Tool said: 18C");
      const sent = claude.last().body;
      expect(sent.thinking).toMatchObject({ type: "enabled" });
      expect(sent.messages[1].content.map((b: { type: string }) => b.type)).toEqual(["thinking", "tool_use"]);

      // A second step of the same loop (Claude thinks once per turn with a budget): still thinking, the
      // turn's first assistant message opening with its thinking.
      const step: OpenAI.ChatCompletionAssistantMessageParam = {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "toolu_step2", type: "function", function: { name: "get_weather", arguments: '{"city":"Lyon"}' } },
        ],
      };
      const further = await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages: [
          ...messages,
          assistant as OpenAI.ChatCompletionMessageParam,
          result,
          step,
          { role: "tool", tool_call_id: "toolu_step2", content: "22C" },
        ],
        tools: [WEATHER],
        reasoning_effort: "medium",
      });
      expect(further.choices[0]!.message.content).toBe("Tool said: 22C");
      expect(claude.last().body.thinking).toMatchObject({ type: "enabled" });

      // The client dropped the reasoning: this turn goes without thinking rather than fail.
      const bare = { role: "assistant" as const, content: null, tool_calls: assistant.tool_calls };
      const third = await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages: [...messages, bare, result],
        tools: [WEATHER],
        reasoning_effort: "medium",
      });
      expect(third.choices[0]!.message.content).toBe("Tool said: 18C");
      expect(claude.last().body.thinking).toBeUndefined();
    });

    it("a forced tool choice goes without thinking (Anthropic refuses both)", async () => {
      await openai().chat.completions.create({
        model: "claude/claude-sonnet-4-5",
        messages: [{ role: "user", content: "anything" }],
        tools: [WEATHER],
        tool_choice: "required",
        reasoning_effort: "high",
      });
      expect(claude.last().body.thinking).toBeUndefined();
      expect(claude.last().body.tool_choice).toEqual({ type: "any" });
    });
  });

  describe("chat completions → Gemini", () => {
    it("Gemini 2.5: a thinking budget with includeThoughts; the thought part becomes reasoning_content", async () => {
      const res = await openai().chat.completions.create({
        model: "gem/gemini-2.5-flash",
        messages: [{ role: "user", content: "ponder this" }],
        reasoning_effort: "low",
      });
      expect(gemini.last().body.generationConfig.thinkingConfig).toEqual({
        thinkingBudget: 1024,
        includeThoughts: true,
      });
      const message = res.choices[0]!.message;
      expect(message.content).toBe("echo: ponder this");
      expect(reasoned(message).reasoning_content).toBe("Thinking about: ponder this");
      expect(reasoned(message).reasoning_signature).toBeUndefined();
      expect(res.usage?.completion_tokens_details?.reasoning_tokens).toBe(4);
    });

    it("Gemini 3: a thinking level; streamed thoughts arrive as delta.reasoning_content before the text", async () => {
      const stream = await openai().chat.completions.create({
        model: "gem/gemini-3-pro-preview",
        messages: [{ role: "user", content: "stream a thought" }],
        reasoning_effort: "medium",
        stream: true,
      });
      let reasoning = "";
      let text = "";
      for await (const chunk of stream) {
        const d = chunk.choices[0]?.delta as (OpenAI.ChatCompletionChunk.Choice.Delta & Reasoned) | undefined;
        reasoning += d?.reasoning_content ?? "";
        if (d?.reasoning_content) expect(text).toBe("");
        text += d?.content ?? "";
      }
      expect(gemini.last().body.generationConfig.thinkingConfig).toEqual({
        thinkingLevel: "high",
        includeThoughts: true,
      });
      expect(reasoning).toBe("Thinking about: stream a thought");
      expect(text).toBe("echo: stream a thought");
    });

    it("no thinkingConfig without an effort (the model's default, thoughts not asked), nor before Gemini 2.5", async () => {
      for (const [model, effort] of [
        ["gem/gemini-2.5-flash", undefined],
        ["gem/gemini-2.5-flash", "minimal"],
        ["gem/gemini-2.0-flash", "high"],
      ] as const) {
        const res = await openai().chat.completions.create({
          model,
          messages: [{ role: "user", content: "plain" }],
          ...(effort ? { reasoning_effort: effort } : {}),
        });
        expect(gemini.last().body.generationConfig?.thinkingConfig).toBeUndefined();
        expect(reasoned(res.choices[0]!.message).reasoning_content).toBeUndefined();
      }
    });
  });

  describe("Responses API → Anthropic", () => {
    const ENCRYPTED = ["reasoning.encrypted_content"] as OpenAI.Responses.ResponseIncludable[];

    it("a reasoning item first, with the signature as encrypted_content only when include asks for it", async () => {
      const r = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input: "explain tides",
        reasoning: { effort: "medium" },
        include: ENCRYPTED,
      });
      expect(claude.last().body.thinking).toEqual({ type: "enabled", budget_tokens: 3072 });
      expect(r.output.map((i) => i.type)).toEqual(["reasoning", "message"]);
      expect(r.output[0]).toMatchObject({
        type: "reasoning",
        id: expect.stringMatching(/^rs_/),
        summary: [{ type: "summary_text", text: "Thinking about: explain tides" }],
        encrypted_content: `anthropic:${fakeThinkingSignature("Thinking about: explain tides")}`,
      });
      expect(r.output_text).toBe("echo: explain tides");

      const plain = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input: "explain tides",
        reasoning: { effort: "medium" },
      });
      expect(plain.output[0]).toMatchObject({
        type: "reasoning",
        summary: [{ text: "Thinking about: explain tides" }],
      });
      expect(plain.output[0]).not.toHaveProperty("encrypted_content");
    });

    it("a tool loop with input items: the reasoning item goes back as the thinking block before tool_use", async () => {
      const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "weather in Tokyo?" }];
      const first = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input,
        tools: [WEATHER_FN],
        reasoning: { effort: "medium" },
        include: ENCRYPTED,
        store: false,
      });
      expect(first.output.map((i) => i.type)).toEqual(["reasoning", "function_call"]);
      const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
      const second = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input: [
          ...input,
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          { type: "function_call_output", call_id: call.call_id, output: "rainy" },
        ],
        tools: [WEATHER_FN],
        reasoning: { effort: "medium" },
        store: false,
      });
      expect(second.output_text).toBe("Tool said: rainy");
      const sent = claude.last().body;
      expect(sent.thinking).toMatchObject({ type: "enabled" });
      expect(sent.messages[1].content[0]).toEqual({
        type: "thinking",
        thinking: "Thinking about: weather in Tokyo?",
        signature: fakeThinkingSignature("Thinking about: weather in Tokyo?"),
      });
      expect(sent.messages[1].content[1]).toMatchObject({ type: "tool_use", id: call.call_id });
    });

    it("previous_response_id carries the signed reasoning of a stored turn into the tool loop", async () => {
      const first = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input: "weather in Paris?",
        tools: [WEATHER_FN],
        reasoning: { effort: "low" },
        include: ENCRYPTED,
      });
      const call = first.output.find((i) => i.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
      const second = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny" }],
        tools: [WEATHER_FN],
        reasoning: { effort: "low" },
      });
      expect(second.output_text).toBe("Tool said: sunny");
      expect(claude.last().body.messages[1].content.map((b: { type: string }) => b.type)).toEqual([
        "thinking",
        "tool_use",
      ]);
    });

    it("OpenAI's own encrypted reasoning is dropped, not sent to Anthropic", async () => {
      const r = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input: [
          { role: "user", content: "hello" },
          {
            type: "reasoning",
            id: "rs_openai",
            summary: [{ type: "summary_text", text: "OpenAI thoughts" }],
            encrypted_content: "gAAAAABopaque",
          },
          { role: "assistant", content: "hi there" },
          { role: "user", content: "again" },
        ] as OpenAI.Responses.ResponseInputItem[],
        reasoning: { effort: "low" },
      });
      expect(r.output_text).toBe("echo: again (turns: 2)");
      expect(claude.last().body.messages[1]).toEqual({
        role: "assistant",
        content: [{ type: "text", text: "hi there" }],
      });
    });

    it("streamed: the reasoning item's summary events, then the message at output_index 1", async () => {
      const stream = await openai().responses.create({
        model: "claude/claude-sonnet-4-5",
        input: "stream the reasoning",
        reasoning: { effort: "low" },
        include: ENCRYPTED,
        stream: true,
      });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const e of stream) events.push(e);
      const types = events.map((e) => e.type);
      const at = (type: string) => types.indexOf(type as OpenAI.Responses.ResponseStreamEvent["type"]);
      expect(events[at("response.output_item.added")]).toMatchObject({
        output_index: 0,
        item: { type: "reasoning", summary: [] },
      });
      expect(at("response.reasoning_summary_part.added")).toBeGreaterThan(at("response.output_item.added"));
      const deltas = events.filter((e) => e.type === "response.reasoning_summary_text.delta");
      expect(deltas.map((e) => (e as { delta: string }).delta).join("")).toBe("Thinking about: stream the reasoning");
      expect(events[at("response.reasoning_summary_text.done")]).toMatchObject({
        output_index: 0,
        summary_index: 0,
        text: "Thinking about: stream the reasoning",
      });
      expect(events[at("response.reasoning_summary_part.done")]).toMatchObject({
        part: { type: "summary_text", text: "Thinking about: stream the reasoning" },
      });
      const doneItems = events.filter((e) => e.type === "response.output_item.done") as Array<{
        output_index: number;
        item: OpenAI.Responses.ResponseOutputItem;
      }>;
      expect(doneItems.map((e) => [e.output_index, e.item.type])).toEqual([
        [0, "reasoning"],
        [1, "message"],
      ]);
      expect(doneItems[0]!.item).toMatchObject({
        encrypted_content: `anthropic:${fakeThinkingSignature("Thinking about: stream the reasoning")}`,
      });
      expect(events.find((e) => e.type === "response.output_text.delta")).toMatchObject({ output_index: 1 });
      const seq = events.map((e) => e.sequence_number);
      expect(seq).toEqual(seq.map((_, i) => i));
      const completed = events[events.length - 1] as OpenAI.Responses.ResponseCompletedEvent;
      expect(completed.response.output.map((i) => i.type)).toEqual(["reasoning", "message"]);
      const stored = await openai().responses.retrieve(completed.response.id);
      expect(stored.output[0]).toMatchObject({ type: "reasoning" });
    });
  });

  describe("Responses API → Gemini", () => {
    it("thoughts become a reasoning item without encrypted content", async () => {
      const r = await openai().responses.create({
        model: "gem/gemini-2.5-flash",
        input: "mull it over",
        reasoning: { effort: "high" },
        include: ["reasoning.encrypted_content"],
      });
      expect(gemini.last().body.generationConfig.thinkingConfig).toEqual({
        thinkingBudget: 24576,
        includeThoughts: true,
      });
      expect(r.output[0]).toMatchObject({ type: "reasoning", summary: [{ text: "Thinking about: mull it over" }] });
      expect(r.output[0]).not.toHaveProperty("encrypted_content");
      expect(r.output_text).toBe("echo: mull it over");
    });
  });

  describe("Anthropic Messages → Gemini", () => {
    it("a Messages request's thinking is not carried to another format; its answer has text blocks only", async () => {
      const client = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
      const msg = await client.messages.create({
        model: "gem/gemini-2.5-flash",
        max_tokens: 8000,
        thinking: { type: "enabled", budget_tokens: 5000 },
        messages: [{ role: "user", content: "think first" }],
      });
      expect(gemini.last().body.generationConfig.thinkingConfig).toBeUndefined();
      expect(msg.content).toEqual([{ type: "text", text: "echo: think first" }]);
    });
  });
});
