import { describe, expect, it } from "vitest";
import { createMockAdapter } from "../providers/mock/index.js";
import { toAnthropicRequest } from "../providers/anthropic/index.js";
import { createGuardedDispatcher } from "../net/ssrf.js";
import type { ChatChunk, ChatResponse } from "../types.js";
import {
  AnthropicStreamTranslator,
  anthropicToCanonical,
  canonicalToAnthropicResponse,
  formatAnthropicSse,
  type AnthropicEvent,
} from "./anthropic-inbound.js";
import type { AnthropicRequest } from "./anthropic-wire.js";
import { assertValidSequence } from "../../../test/helpers/anthropic-events.js";

const req: AnthropicRequest = {
  model: "mock/echo",
  max_tokens: 256,
  system: [{ type: "text", text: "You are helpful." }],
  stop_sequences: ["END"],
  temperature: 0.5,
  metadata: { user_id: "u-1" },
  tools: [
    {
      name: "get_weather",
      description: "Weather",
      input_schema: { type: "object", properties: { city: { type: "string" } } },
    },
  ],
  tool_choice: { type: "any", disable_parallel_tool_use: true },
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "Weather in Paris?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      ],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_1", content: "18C" },
        { type: "text", text: "Thanks" },
      ],
    },
  ],
};

describe("anthropic inbound: request", () => {
  it("translates system, images, tool_use, tool_result, tool_choice and options", () => {
    const c = anthropicToCanonical(req);
    expect(c.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "user"]);
    expect(c.messages[0]).toEqual({ role: "system", content: "You are helpful." });
    expect(c.messages[1]!.content).toEqual([
      { type: "text", text: "Weather in Paris?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
    ]);
    expect(c.messages[2]).toMatchObject({
      content: "Let me check.",
      tool_calls: [{ id: "toolu_1", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
    });
    expect(c.messages[3]).toEqual({ role: "tool", tool_call_id: "toolu_1", content: "18C" });
    expect(c).toMatchObject({
      max_tokens: 256,
      stop: ["END"],
      temperature: 0.5,
      user: "u-1",
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    expect(c.tools![0]!.function.parameters).toEqual(req.tools![0]!.input_schema);
  });

  it("round-trips to the Anthropic wire format unchanged in meaning", () => {
    const back = toAnthropicRequest(anthropicToCanonical(req), "claude").body;
    expect(back.system).toBe("You are helpful.");
    expect(back.messages).toEqual([
      req.messages[0],
      req.messages[1],
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "18C" },
          { type: "text", text: "Thanks" },
        ],
      },
    ]);
    expect(back.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(back.stop_sequences).toEqual(["END"]);
    expect(back.max_tokens).toBe(256);
  });

  it("refuses block types it cannot carry", () => {
    const bad = { ...req, messages: [{ role: "user" as const, content: [{ type: "document", source: {} } as never] }] };
    expect(() => anthropicToCanonical(bad)).toThrow(/not supported/);
  });
});

describe("anthropic inbound: response", () => {
  it("maps content, tool calls, stop reason and usage (input excludes cache reads)", () => {
    const res: ChatResponse = {
      id: "chatcmpl-abc",
      object: "chat.completion",
      created: 1,
      model: "gpt-x",
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: "Checking",
            tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
          },
        },
      ],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 7,
        total_tokens: 107,
        prompt_tokens_details: { cached_tokens: 40 },
      },
    };
    const a = canonicalToAnthropicResponse(res, undefined, "mock/echo");
    expect(a).toMatchObject({
      id: "msg_abc",
      type: "message",
      role: "assistant",
      model: "mock/echo",
      stop_reason: "tool_use",
      stop_sequence: null,
      content: [
        { type: "text", text: "Checking" },
        { type: "tool_use", id: "call_1", name: "f", input: { a: 1 } },
      ],
      usage: { input_tokens: 60, cache_read_input_tokens: 40, output_tokens: 7 },
    });
    const len = canonicalToAnthropicResponse({
      ...res,
      choices: [{ ...res.choices[0]!, finish_reason: "length", message: { role: "assistant", content: "x" } }],
    });
    expect(len.stop_reason).toBe("max_tokens");
  });
});

describe("anthropic inbound: stream translator", () => {
  const dispatcher = createGuardedDispatcher([]);
  const opts = {
    signal: new AbortController().signal,
    dispatcher,
    timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000, totalMs: 5000 },
  };
  const run = async (r: AnthropicRequest) => {
    const mock = createMockAdapter({ chunkDelayMs: 0 });
    const result = await mock.chat(anthropicToCanonical(r), { baseUrl: "mock:", model: "echo" }, opts);
    if (result.kind !== "stream") throw new Error("stream expected");
    const t = new AnthropicStreamTranslator("msg_1", "mock/echo");
    const events: AnthropicEvent[] = [];
    for await (const c of result.stream) events.push(...t.push(c));
    events.push(...t.finish(result.usage()));
    return events;
  };

  it("text: valid sequence, deltas concatenate, stop_reason and usage in message_delta", async () => {
    const events = await run({
      model: "m",
      max_tokens: 100,
      stream: true,
      messages: [{ role: "user", content: "hello streaming world" }],
    });
    assertValidSequence(events);
    const text = events
      .filter((e) => e.type === "content_block_delta")
      .map((e) => (e.delta as { text: string }).text)
      .join("");
    expect(text).toBe("hello streaming world");
    const md = events[events.length - 2]!;
    expect(md.delta).toEqual({ stop_reason: "end_turn", stop_sequence: null });
    expect((md.usage as { output_tokens: number }).output_tokens).toBeGreaterThan(0);
    expect(formatAnthropicSse(events[0]!)).toMatch(/^event: message_start\ndata: \{.*\}\n\n$/);
  });

  it("tool_use blocks: one block per call, input_json_delta assembles valid JSON", async () => {
    const events = await run({
      model: "m",
      max_tokens: 100,
      stream: true,
      tools: [
        { name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } },
        { name: "get_time", input_schema: { type: "object", properties: { city: { type: "string" } } } },
      ],
      messages: [{ role: "user", content: "use get_weather and get_time" }],
    });
    assertValidSequence(events);
    const starts = events
      .filter((e) => e.type === "content_block_start")
      .map((e) => e.content_block as { type: string; name: string });
    expect(starts.map((s) => [s.type, s.name])).toEqual([
      ["tool_use", "get_weather"],
      ["tool_use", "get_time"],
    ]);
    for (const idx of [0, 1]) {
      const json = events
        .filter((e) => e.type === "content_block_delta" && e.index === idx)
        .map((e) => (e.delta as { partial_json: string }).partial_json)
        .join("");
      expect(JSON.parse(json)).toHaveProperty("city");
    }
    expect((events[events.length - 2]!.delta as { stop_reason: string }).stop_reason).toBe("tool_use");
  });

  it("text then tool call closes the text block first; empty stream is still valid", () => {
    const base = { id: "c", object: "chat.completion.chunk" as const, created: 1, model: "m" };
    const ch = (
      delta: ChatChunk["choices"][0]["delta"],
      finish: ChatChunk["choices"][0]["finish_reason"] = null,
    ): ChatChunk => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
    const t = new AnthropicStreamTranslator("msg_2", "m");
    const events = [
      ...t.push(ch({ role: "assistant", content: "" })),
      ...t.push(ch({ content: "Let me look." })),
      ...t.push(
        ch({ tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "f", arguments: '{"a"' } }] }),
      ),
      ...t.push(ch({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] })),
      ...t.push(ch({}, "tool_calls")),
      ...t.push({
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 10,
          completion_tokens: 3,
          total_tokens: 13,
          prompt_tokens_details: { cached_tokens: 4 },
        },
      }),
      ...t.finish(),
    ];
    assertValidSequence(events);
    expect(events.filter((e) => e.type === "content_block_start")).toHaveLength(2);
    expect(events[events.length - 2]!.usage).toMatchObject({
      input_tokens: 6,
      cache_read_input_tokens: 4,
      output_tokens: 3,
    });
    const empty = new AnthropicStreamTranslator("msg_3", "m").finish();
    assertValidSequence(empty);
  });
});
