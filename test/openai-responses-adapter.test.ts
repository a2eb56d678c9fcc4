/**
 * The OpenAI adapter's native Responses path against the OpenAI fake on
 * loopback: the prepared body reaches `/v1/responses` as written (model id
 * set), whole answers and streamed events come back as OpenAI gave them, with
 * usage read from the terminal response; reasoning items carry their
 * encrypted content across calls; failures surface as classified
 * UpstreamErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGuardedDispatcher } from "../src/gateway/net/ssrf.js";
import { createOpenAIAdapter } from "../src/gateway/providers/openai/index.js";
import {
  type CallOptions,
  type ChatResult,
  type NativeEvent,
  type NativeRequest,
  UpstreamError,
} from "../src/gateway/providers/types.js";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";

const KEY = "sk-test-responses-0123456789";
const adapter = createOpenAIAdapter();
const dispatcher = createGuardedDispatcher(["127.0.0.1"]);
const opts = (): CallOptions => ({
  signal: new AbortController().signal,
  dispatcher,
  timeouts: { connectMs: 2000, firstByteMs: 2000, idleMs: 2000, totalMs: 10_000 },
});

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
  await dispatcher.close();
});

const native = (body: Record<string, unknown>): NativeRequest => ({ api: "openai-responses", body, headers: {} });
const call = (body: Record<string, unknown>, model = "gpt-4.1") =>
  adapter.chat(
    { model: "ignored", messages: [] },
    { baseUrl: `${fake.url}/v1`, apiKey: KEY, model },
    opts(),
    native(body),
  );

function whole(r: ChatResult): Record<string, any> {
  if (r.kind !== "native") throw new Error(`expected a native answer, got ${r.kind}`);
  return r.body;
}
async function events(r: ChatResult): Promise<NativeEvent[]> {
  if (r.kind !== "native_stream") throw new Error(`expected a native stream, got ${r.kind}`);
  const out: NativeEvent[] = [];
  for await (const e of r.stream) out.push(e);
  return out;
}
async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError);
    return e as UpstreamError;
  }
  throw new Error("expected an UpstreamError");
}
/** The stream's events up to a failure, and the failure. */
async function brokenStream(r: ChatResult): Promise<{ seen: string[]; error: UpstreamError }> {
  if (r.kind !== "native_stream") throw new Error(`expected a native stream, got ${r.kind}`);
  const seen: string[] = [];
  const error = await failure(
    (async () => {
      for await (const e of r.stream) seen.push(e.type);
    })(),
  );
  return { seen, error };
}
/** The usage of an answer (a stream's once it has been read). */
const usageOf = (r: ChatResult) => (r.kind === "native" || r.kind === "response" ? r.usage : r.usage());
const outputText = (body: Record<string, any>) =>
  body.output.find((i: any) => i.type === "message")?.content[0].text as string | undefined;

describe("OpenAI Responses, native: whole answers", () => {
  it("sends the prepared body as written to /v1/responses (model id set) and returns OpenAI's response", async () => {
    const body = {
      model: "client-alias",
      instructions: "Be brief, use the cache",
      input: [{ role: "user", content: [{ type: "input_text", text: "hello there" }] }],
      store: false,
      metadata: { trace: "t1" },
    };
    const result = await call(body);
    const r = whole(result);
    const sent = fake.last();
    expect(sent.path).toBe("/v1/responses");
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.body).toEqual({ ...body, model: "gpt-4.1" });
    expect(r).toMatchObject({ object: "response", status: "completed", model: "gpt-4.1", store: false });
    expect(r.id).toMatch(/^resp_/);
    expect(outputText(r)).toBe("[Be brief, use the cache] echo: hello there");
    expect(r.output[0].id).toMatch(/^msg_/);
    // 10 + ⌈(23 + 11 characters) / 4⌉ in, 8 of them cached ("cache" in the instructions); 8 words out.
    expect(result.usage).toStrictEqual({ inputTokens: 19, cachedInputTokens: 8, outputTokens: 8 });
  });

  it("answers function calls as function_call items", async () => {
    const tools = [
      {
        type: "function",
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    ];
    const r = whole(await call({ input: "What is the weather in Paris? Use the tool.", tools }));
    expect(r.output).toEqual([
      expect.objectContaining({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris"}' }),
    ]);
    const fc = r.output[0];
    expect(fc.id).toMatch(/^fc_/);
    const next = whole(
      await call({
        input: [
          { role: "user", content: "What is the weather in Paris? Use the tool." },
          fc,
          { type: "function_call_output", call_id: fc.call_id, output: "18 degrees" },
        ],
        tools,
      }),
    );
    expect(outputText(next)).toBe("Tool said: 18 degrees");
  });

  it("an answer cut by max_output_tokens is incomplete, with its usage", async () => {
    const result = await call({ input: "one two three four five", max_output_tokens: 2 });
    expect(whole(result)).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(usageOf(result)?.outputTokens).toBe(2);
  });

  it("a response that failed is an UpstreamError classified by its code", async () => {
    const server = await failure(call({ input: "please fail:server_error" }));
    expect(server).toMatchObject({ kind: "http", status: 500, upstreamCode: "server_error", retryable: true });
    const limited = await failure(call({ input: "please fail:rate_limit_exceeded" }));
    expect(limited).toMatchObject({ kind: "http", status: 429, upstreamCode: "rate_limit_exceeded" });
    expect(limited.message).not.toContain(KEY);
  });

  it("previous_response_id never works upstream: the fake refuses it like OpenAI", async () => {
    const e = await failure(call({ input: "hi", previous_response_id: "resp_abc" }));
    expect(e).toMatchObject({ kind: "http", status: 400, upstreamCode: "previous_response_not_found" });
  });

  it("an HTTP error and a body that is not a response are classified", async () => {
    fake.setFault({ type: "status", status: 503, message: "overloaded" }, 1);
    expect(await failure(call({ input: "hi" }))).toMatchObject({ kind: "http", status: 503, retryable: true });
    fake.setFault({ type: "garbage" }, 1);
    expect((await failure(call({ input: "hi" }))).kind).toBe("protocol");
  });
});

describe("OpenAI Responses, native: streams", () => {
  it("yields OpenAI's events in order, usage from response.completed", async () => {
    const r = await call({ input: "hello streaming world", stream: true });
    if (r.kind !== "native_stream") throw new Error(r.kind);
    expect(r.usage()).toBeUndefined();
    const evs = await events(r);
    const types = evs.map((e) => e.type);
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array(deltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    const text = evs.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("");
    expect(text).toBe("echo: hello streaming world");
    expect(r.usage()).toStrictEqual({ inputTokens: 16, cachedInputTokens: 0, outputTokens: 4 });
  });

  it("streams function-call arguments as deltas that add up to the done event", async () => {
    const tools = [
      {
        type: "function",
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    ];
    const evs = await events(await call({ input: "weather in Tokyo?", tools, stream: true }));
    const args = evs.flatMap((e) => (e.type === "response.function_call_arguments.delta" ? [e.delta] : [])).join("");
    const done = evs.find((e) => e.type === "response.function_call_arguments.done");
    expect(done).toMatchObject({ name: "get_weather", arguments: args });
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
  });

  it("an answer cut short ends with response.incomplete, which is terminal", async () => {
    const r = await call({ input: "one two three four five", max_output_tokens: 2, stream: true });
    const evs = await events(r);
    expect(evs.at(-1)).toMatchObject({ type: "response.incomplete", response: { status: "incomplete" } });
    expect(usageOf(r)?.outputTokens).toBe(2);
  });

  it("response.failed and error events throw classified UpstreamErrors after what came before", async () => {
    const failed = await brokenStream(await call({ input: "fail:rate_limit_exceeded", stream: true }));
    expect(failed.seen).toEqual(["response.created", "response.in_progress"]);
    expect(failed.error).toMatchObject({ kind: "http", status: 429, upstreamCode: "rate_limit_exceeded" });
    const errored = await brokenStream(await call({ input: "error-event:server_error", stream: true }));
    expect(errored.seen).toContain("response.output_item.done");
    expect(errored.error).toMatchObject({ kind: "http", status: 500, upstreamCode: "server_error", retryable: true });
  });

  it("a stream that closes before its terminal event is a protocol error", async () => {
    const r = await call({ input: "cut-short please", stream: true });
    const { seen, error } = await brokenStream(r);
    expect(seen).toContain("response.output_item.done");
    expect(error.kind).toBe("protocol");
  });
});

describe("OpenAI Responses, native: reasoning", () => {
  const sealed = { include: ["reasoning.encrypted_content"], store: false, reasoning: { summary: "auto" } };

  it("returns a reasoning item with encrypted content that a stateless follow-up sends back", async () => {
    const first = await call({ ...sealed, input: "think about tea" }, "o4-mini");
    const body = whole(first);
    const reasoning = body.output[0];
    expect(reasoning).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text" }] });
    expect(reasoning.id).toMatch(/^rs_/);
    expect(typeof reasoning.encrypted_content).toBe("string");
    expect(usageOf(first)).toMatchObject({ reasoningTokens: 16 });
    expect(usageOf(first)!.outputTokens).toBeGreaterThan(16);
    const input = [{ role: "user", content: "think about tea" }, ...body.output, { role: "user", content: "and now?" }];
    const second = whole(await call({ ...sealed, input }, "o4-mini"));
    expect(outputText(second)).toBe("echo: and now? (turns: 2)");
    expect(fake.last().body.input[1]).toEqual(reasoning);
  });

  it("a reasoning item OpenAI cannot read back is a 404, as OpenAI answers it", async () => {
    const item = { type: "reasoning", id: "rs_forged", summary: [], encrypted_content: "bm90IG91cnM=" };
    const e = await failure(call({ store: false, input: [item, { role: "user", content: "hi" }] }, "o4-mini"));
    expect(e).toMatchObject({ kind: "http", status: 404 });
    expect(e.message).toContain(
      "Item with id 'rs_forged' not found. Items are not persisted when `store` is set to false",
    );
    // Sent back without store: false, OpenAI looks the id up among stored items: this one never was.
    const stored = await failure(call({ input: [item, { role: "user", content: "hi" }] }, "o4-mini"));
    expect(stored).toMatchObject({ kind: "http", status: 404 });
    expect(stored.message).toContain("Item with id 'rs_forged' not found.");
  });

  it("streams the reasoning item and its summary before the message", async () => {
    const evs = await events(await call({ ...sealed, input: "think", stream: true }, "gpt-5-mini"));
    const types = evs.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
    ]);
    expect(types).toContain("response.reasoning_summary_text.done");
    const done = evs.find((e) => e.type === "response.output_item.done") as NativeEvent & { item: any };
    expect(done.item).toMatchObject({ type: "reasoning" });
    expect(typeof done.item.encrypted_content).toBe("string");
  });

  it("a non-reasoning model accepts the include and returns no reasoning item", async () => {
    const body = whole(await call({ ...sealed, input: "hi" }, "gpt-4.1-mini"));
    expect(body.output.map((i: any) => i.type)).toEqual(["message"]);
  });
});

describe("OpenAI Responses, native: web search", () => {
  const tools = [{ type: "web_search" }];

  it("counts each search call for billing, capped by max_tool_calls", async () => {
    const twice = await call({ input: "search twice for tea prices", tools });
    const body = whole(twice);
    expect(body.output.map((i: any) => i.type)).toEqual(["web_search_call", "web_search_call", "message"]);
    expect(body.output[0]).toMatchObject({ status: "completed", action: { type: "search" } });
    expect(body.output[2].content[0].annotations).toEqual([expect.objectContaining({ type: "url_citation" })]);
    expect(usageOf(twice)?.webSearches).toBe(2);
    const capped = await call({ input: "search twice for tea prices", tools, max_tool_calls: 1 });
    expect(usageOf(capped)?.webSearches).toBe(1);
    const none = await call({ input: "tea prices", tools });
    expect(usageOf(none)?.webSearches).toBeUndefined();
  });

  it("streams the search call's events and bills it from response.completed", async () => {
    const r = await call({ input: "search for tea", tools: [{ type: "web_search_preview" }], stream: true });
    const types = (await events(r)).map((e) => e.type);
    expect(types.slice(2, 7)).toEqual([
      "response.output_item.added",
      "response.web_search_call.in_progress",
      "response.web_search_call.searching",
      "response.web_search_call.completed",
      "response.output_item.done",
    ]);
    expect(types).toContain("response.output_text.annotation.added");
    expect(usageOf(r)?.webSearches).toBe(1);
  });
});
