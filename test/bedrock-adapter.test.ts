/**
 * The Bedrock adapter against the Bedrock fake on loopback, through a real
 * undici Agent: Converse chat (text, system, tool calls and results as
 * Bedrock's blocks, images as bytes, inference profile ids), ConverseStream
 * event-stream frames (text in order, tool arguments assembled, finish
 * reason, exact usage with the prompt cache, a mid-stream exception frame,
 * an abort that closes the upstream connection), and Titan and Cohere
 * embeddings. Errors and signing: bedrock-errors.test.ts.
 */
import { describe, expect, it } from "vitest";
import { fromUpstream } from "../src/gateway/errors.js";
import { createBedrockAdapter } from "../src/gateway/providers/bedrock/index.js";
import type { ChatRequest } from "../src/gateway/types.js";
import { usageToOpenAI } from "../src/gateway/types.js";
import { bedrockSetup, CLAUDE, collect, failure, KEY_ID, WEATHER } from "./helpers/bedrock.js";

const s = bedrockSetup();
const adapter = createBedrockAdapter();
const opts = (signal?: AbortSignal) => s.opts(signal);
const target: typeof s.target = (...a) => s.target(...a);

describe("Bedrock Converse", () => {
  it("answers a text chat; the request is signed SigV4 for bedrock in the region, with system and inference settings", async () => {
    const req: ChatRequest = {
      model: "x",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "hello there" },
      ],
      max_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: ["###"],
    };
    const r = await adapter.chat(req, target(), opts());
    if (r.kind !== "response") throw new Error("a response was expected");
    expect(r.response.choices[0]!.message.content).toBe("[Be terse.] echo: hello there");
    expect(r.response.choices[0]!.finish_reason).toBe("stop");
    expect(r.response.id).toMatch(/^chatcmpl-req-/);
    const sent = s.fake.last();
    expect(sent.path).toBe("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    expect(sent.headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${KEY_ID}/\\d{8}/us-east-1/bedrock/aws4_request, SignedHeaders=`),
    );
    expect(sent.body).toEqual({
      messages: [{ role: "user", content: [{ text: "hello there" }] }],
      system: [{ text: "Be terse." }],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ["###"] },
    });
    const reported = s.fake.reported.at(-1)!;
    expect(r.usage).toStrictEqual({
      inputTokens: reported.inputTokens,
      cachedInputTokens: 0,
      outputTokens: reported.outputTokens,
    });
    expect(r.response.usage).toEqual(usageToOpenAI(r.usage!));
  });

  it("sends a tool loop as Bedrock's toolUse / toolResult blocks and answers from the tool result", async () => {
    const req: ChatRequest = {
      model: "x",
      messages: [
        { role: "user", content: "weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "tooluse_abc", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: "tool", tool_call_id: "tooluse_abc", content: '{"temp_c":21}' },
      ],
      tools: [WEATHER],
      tool_choice: "auto",
    };
    const r = await adapter.chat(req, target(), opts());
    if (r.kind !== "response") throw new Error("a response was expected");
    expect(r.response.choices[0]!.message.content).toBe('Tool said: {"temp_c":21}');
    expect(s.fake.last().body).toEqual({
      messages: [
        { role: "user", content: [{ text: "weather in Paris?" }] },
        {
          role: "assistant",
          content: [{ toolUse: { toolUseId: "tooluse_abc", name: "get_weather", input: { city: "Paris" } } }],
        },
        { role: "user", content: [{ toolResult: { toolUseId: "tooluse_abc", content: [{ json: { temp_c: 21 } }] } }] },
      ],
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "get_weather",
              description: "Weather of a city",
              inputSchema: { json: WEATHER.function.parameters },
            },
          },
        ],
        toolChoice: { auto: {} },
      },
    });
  });

  it("returns the model's tool call (required → any, a named tool → tool) and sends images as bytes", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    const r = await adapter.chat(
      {
        model: "x",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is the weather here?" },
              { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
            ],
          },
        ],
        tools: [WEATHER],
        tool_choice: "required",
      },
      target(),
      opts(),
    );
    if (r.kind !== "response") throw new Error("a response was expected");
    const choice = r.response.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toEqual([
      { id: "tooluse_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);
    const body = s.fake.last().body;
    expect(body.toolConfig.toolChoice).toEqual({ any: {} });
    expect(body.messages[0].content[1]).toEqual({ image: { format: "png", source: { bytes: png } } });

    await adapter.chat(
      {
        model: "x",
        messages: [{ role: "user", content: "hi" }],
        tools: [WEATHER],
        tool_choice: { type: "function", function: { name: "get_weather" } },
      },
      target(),
      opts(),
    );
    expect(s.fake.last().body.toolConfig.toolChoice).toEqual({ tool: { name: "get_weather" } });
  });

  it("path-encodes an inference profile id", async () => {
    const r = await adapter.chat(
      { model: "x", messages: [{ role: "user", content: "hi" }] },
      target("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
      opts(),
    );
    expect(r.kind).toBe("response");
    expect(s.fake.last().path).toBe("/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse");
  });
});

describe("Bedrock ConverseStream", () => {
  it("streams text deltas in order, the finish reason and the exact usage from the metadata event", async () => {
    const r = await adapter.chat(
      { model: "x", stream: true, messages: [{ role: "user", content: "one two three four five six seven" }] },
      target(),
      opts(),
    );
    const chunks = await collect(r);
    expect(s.fake.last().path).toBe("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream");
    expect(s.fake.last().headers.accept).toBe("application/vnd.amazon.eventstream");
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    const texts = chunks.flatMap((c) => (c.choices[0]?.delta.content ? [c.choices[0].delta.content] : []));
    expect(texts.length).toBeGreaterThan(2);
    expect(texts.join("")).toBe("echo: one two three four five six seven");
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]!.finish_reason)).toEqual(["stop"]);
    const reported = s.fake.reported.at(-1)!;
    const usage = { inputTokens: reported.inputTokens, cachedInputTokens: 0, outputTokens: reported.outputTokens };
    if (r.kind !== "stream") throw new Error("a stream was expected");
    expect(r.usage()).toStrictEqual(usage);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: usageToOpenAI(usage) });
  });

  it("counts prompt cache reads and writes into the input, as Bedrock reports them apart", async () => {
    const r = await adapter.chat(
      { model: "x", stream: true, messages: [{ role: "user", content: "hi" }] },
      target(CLAUDE, {}, s.cacheFake.url),
      opts(),
    );
    await collect(r);
    if (r.kind !== "stream") throw new Error("a stream was expected");
    expect(r.usage()).toStrictEqual({
      inputTokens: 1400,
      cachedInputTokens: 300,
      outputTokens: 20,
      cacheWriteInputTokens: 1000,
    });
    const whole = await adapter.chat(
      { model: "x", messages: [{ role: "user", content: "hi" }] },
      target(CLAUDE, {}, s.cacheFake.url),
      opts(),
    );
    expect(whole.kind === "response" && whole.usage).toStrictEqual(r.usage());
  });

  it("assembles a tool call's arguments from its input fragments, after the text block", async () => {
    const chunks = await collect(
      await adapter.chat(
        { model: "x", stream: true, messages: [{ role: "user", content: "weather please" }], tools: [WEATHER] },
        target(),
        opts(),
      ),
    );
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("Let me use a tool.");
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas[0]).toEqual({
      index: 0,
      id: "tooluse_1",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.every((d) => d.index === 0)).toBe(true);
    expect(JSON.parse(deltas.map((d) => d.function?.arguments ?? "").join(""))).toEqual({ city: "Paris" });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("a mid-stream exception frame is thrown from the iterator as Bedrock's classified error", async () => {
    s.fake.breakStream(3, "modelStreamErrorException", "The model stream failed.");
    const r = await adapter.chat(
      { model: "x", stream: true, messages: [{ role: "user", content: "a b c d e f g h" }] },
      target(),
      opts(),
    );
    const seen: string[] = [];
    const e = await failure(
      (async () => {
        if (r.kind !== "stream") throw new Error("a stream was expected");
        for await (const c of r.stream) seen.push(c.choices[0]?.delta.content ?? "");
      })(),
    );
    expect(seen.join("")).toBe("echo: a b c ");
    expect(e).toMatchObject({ kind: "http", status: 424, upstreamCode: "ModelStreamErrorException" });
    expect(e.message).toBe("bedrock stream error ModelStreamErrorException: The model stream failed.");

    s.fake.breakStream(1, "throttlingException", "Too many tokens, please wait before trying again.");
    const t = await adapter.chat(
      { model: "x", stream: true, messages: [{ role: "user", content: "hi" }] },
      target(),
      opts(),
    );
    const te = await failure(collect(t));
    expect(fromUpstream(te, "aws").code).toBe("upstream_rate_limited");
  });

  it("a stream cut before messageStop, or carrying a corrupt frame, is a protocol error", async () => {
    const stream = () =>
      adapter.chat(
        { model: "x", stream: true, messages: [{ role: "user", content: "a b c d e f" }] },
        target(),
        opts(),
      );
    s.fake.cutStream(3);
    const cut = await failure(stream().then(collect));
    expect(cut).toMatchObject({ kind: "protocol", message: "bedrock stream ended before messageStop" });
    s.fake.cutStream(2, true);
    const corrupt = await failure(stream().then(collect));
    expect(corrupt.kind).toBe("protocol");
    expect(corrupt.message).toMatch(/^bedrock stream is not a valid event stream \(The message checksum/);
  });

  it("aborting the call mid-stream closes the upstream connection", async () => {
    s.fake.setFault({ type: "hang_after", chunks: 3 }, 1);
    const ac = new AbortController();
    const r = await adapter.chat(
      { model: "x", stream: true, messages: [{ role: "user", content: "a b c d e f g h" }] },
      target(),
      opts(ac.signal),
    );
    if (r.kind !== "stream") throw new Error("a stream was expected");
    const closed = s.fake.waitForClientAbort(5_000);
    const e = await failure(
      (async () => {
        let n = 0;
        for await (const _ of r.stream) if (++n === 2) ac.abort();
      })(),
    );
    expect(e.kind).toBe("aborted");
    expect(await closed).toBe(true);
  });
});

describe("Bedrock embeddings", () => {
  it("Titan: one call per input, in parallel (bounded), answered in input order with the token counts summed", async () => {
    const before = s.fake.requests.length;
    s.fake.holdTitan(4);
    const inputs = ["a", "bb bb", "ccc ccc ccc", "dddd", "eeeee eeeee", "f"];
    const r = await adapter.embeddings!(
      { model: "x", input: inputs, dimensions: 256 },
      target("amazon.titan-embed-text-v2:0"),
      opts(),
    );
    const calls = s.fake.requests.slice(before);
    expect(calls.map((c) => c.body.inputText).sort()).toEqual([...inputs].sort());
    expect(
      calls.every((c) => c.path === "/model/amazon.titan-embed-text-v2%3A0/invoke" && c.body.dimensions === 256),
    ).toBe(true);
    expect(s.fake.peakInFlight).toBe(4);
    expect(r.response.data.map((d) => d.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.response.data.map((d) => (d.embedding as number[])[0])).toEqual(inputs.map((t) => (t.length % 10) / 10));
    expect((r.response.data[0]!.embedding as number[]).length).toBe(256);
    const tokens = inputs.reduce((s, t) => s + Math.max(1, Math.ceil(t.length / 4)), 0);
    expect(r.usage).toStrictEqual({ inputTokens: tokens, cachedInputTokens: 0, outputTokens: 0 });
    expect(r.response.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it("Cohere: the texts in one call with input_type, tokens from Bedrock's token-count header", async () => {
    const inputs = ["first text", "second one here", "x"];
    const r = await adapter.embeddings!({ model: "x", input: inputs }, target("cohere.embed-english-v3"), opts());
    expect(s.fake.last().body).toEqual({ texts: inputs, input_type: "search_document" });
    expect(r.response.data).toHaveLength(3);
    expect(r.usage.inputTokens).toBe(3 + 4 + 1);
  });
});
