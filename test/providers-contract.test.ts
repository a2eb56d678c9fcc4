/**
 * The provider contract: ONE suite, run against every adapter and a faithful
 * local fake of its upstream API (the mock provider needs none). Everything a
 * pipeline relies on is asserted here the same way for every format.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnthropicAdapter } from "../src/gateway/providers/anthropic/index.js";
import { createGeminiAdapter } from "../src/gateway/providers/gemini/index.js";
import { createMockAdapter } from "../src/gateway/providers/mock/index.js";
import { createOpenAIAdapter } from "../src/gateway/providers/openai/index.js";
import {
  UpstreamError,
  type CallOptions,
  type ChatResult,
  type ProviderAdapter,
  type Timeouts,
} from "../src/gateway/providers/types.js";
import { createGuardedDispatcher } from "../src/gateway/net/ssrf.js";
import type { ChatChunk, ChatRequest, ChatResponse, FunctionTool, ToolCall } from "../src/gateway/types.js";
import { startAnthropicFake, viewFromAnthropic } from "./fakes/anthropic-fake.js";
import type { FakeServer, Recorded } from "./fakes/base.js";
import { startGeminiFake, viewFromGemini } from "./fakes/gemini-fake.js";
import { startOpenAIFake, viewFromOpenAI } from "./fakes/openai-fake.js";
import type { View } from "./fakes/script.js";

interface Subject {
  name: string;
  adapter: ProviderAdapter;
  start?: () => Promise<FakeServer>;
  baseUrl: (f: FakeServer) => string;
  apiKey?: string;
  model: string;
  view?: (r: Recorded) => View;
  auth?: (r: Recorded, key: string) => void;
  embeddings: boolean;
  n: boolean;
}

const subjects: Subject[] = [
  {
    name: "openai",
    adapter: createOpenAIAdapter(),
    start: () => startOpenAIFake({ apiKey: "sk-test-openai-0123456789" }),
    baseUrl: (f) => `${f.url}/v1`,
    apiKey: "sk-test-openai-0123456789",
    model: "gpt-4o-mini",
    view: (r) => viewFromOpenAI(r.body),
    auth: (r, k) => expect(r.headers.authorization).toBe(`Bearer ${k}`),
    embeddings: true,
    n: true,
  },
  {
    name: "openai-compatible",
    adapter: createOpenAIAdapter({ label: "openai-compatible" }),
    start: () => startOpenAIFake({ variant: "compatible" }),
    baseUrl: (f) => `${f.url}/v1`,
    model: "llama-3.1-8b",
    view: (r) => viewFromOpenAI(r.body),
    auth: (r) => expect(r.headers.authorization).toBeUndefined(),
    embeddings: true,
    n: true,
  },
  {
    name: "anthropic",
    adapter: createAnthropicAdapter(),
    start: () => startAnthropicFake({ apiKey: "sk-ant-test-abcdef012345" }),
    baseUrl: (f) => f.url,
    apiKey: "sk-ant-test-abcdef012345",
    model: "claude-sonnet-4-5",
    view: (r) => viewFromAnthropic(r.body),
    auth: (r, k) => {
      expect(r.headers["x-api-key"]).toBe(k);
      expect(r.headers["anthropic-version"]).toBe("2023-06-01");
    },
    embeddings: false,
    n: false,
  },
  {
    name: "gemini",
    adapter: createGeminiAdapter(),
    start: () => startGeminiFake({ apiKey: "AIza-test-gemini-987654" }),
    baseUrl: (f) => f.url,
    apiKey: "AIza-test-gemini-987654",
    model: "gemini-2.5-flash",
    view: (r) => viewFromGemini(r.body),
    auth: (r, k) => {
      expect(r.headers["x-goog-api-key"]).toBe(k);
      expect(r.path).not.toContain("key=");
    },
    embeddings: true,
    n: true,
  },
  {
    name: "mock",
    adapter: createMockAdapter({ chunkDelayMs: 2 }),
    baseUrl: () => "mock:",
    model: "echo",
    embeddings: true,
    n: true,
  },
];

const T: Timeouts = { connectMs: 2000, firstByteMs: 2000, idleMs: 2000, totalMs: 10_000 };
const dispatcher = createGuardedDispatcher(["127.0.0.1"]);
afterAll(() => dispatcher.close());
const opts = (
  over: { signal?: AbortSignal; dispatcher?: CallOptions["dispatcher"]; timeouts?: Partial<Timeouts> } = {},
): CallOptions => ({
  signal: over.signal ?? new AbortController().signal,
  dispatcher: over.dispatcher ?? dispatcher,
  timeouts: { ...T, ...over.timeouts },
});

const weather: FunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    },
  },
};
const time: FunctionTool = {
  type: "function",
  function: {
    name: "get_time",
    description: "Time in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const user = (content: ChatRequest["messages"][0]["content"]) => ({
  role: "user" as const,
  content: content as string,
});
const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

interface Collected {
  chunks: ChatChunk[];
  text: string;
  toolCalls: ToolCall[];
  finish: string[];
  usageChunk?: ChatChunk;
}
async function collect(r: ChatResult): Promise<Collected> {
  if (r.kind !== "stream") throw new Error("expected a stream");
  const out: Collected = { chunks: [], text: "", toolCalls: [], finish: [] };
  for await (const c of r.stream) {
    out.chunks.push(c);
    expect(c.object).toBe("chat.completion.chunk");
    if (c.choices.length === 0 && c.usage) out.usageChunk = c;
    for (const ch of c.choices.filter((x) => x.index === 0)) {
      if (ch.delta.content) out.text += ch.delta.content;
      for (const d of ch.delta.tool_calls ?? []) {
        const tc = out.toolCalls[d.index] ?? { id: "", type: "function", function: { name: "", arguments: "" } };
        out.toolCalls[d.index] = tc;
        if (d.id) tc.id = d.id;
        if (d.function?.name) tc.function.name += d.function.name;
        if (d.function?.arguments) tc.function.arguments += d.function.arguments;
      }
      if (ch.finish_reason) out.finish.push(ch.finish_reason);
    }
  }
  return out;
}
const asResponse = (r: ChatResult): ChatResponse => {
  if (r.kind !== "response") throw new Error("expected a response");
  return r.response;
};
async function expectUpstreamError(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError);
    return e as UpstreamError;
  }
  throw new Error("expected an UpstreamError");
}

describe.each(subjects)("provider contract: $name", (s) => {
  let fake: FakeServer | undefined;
  beforeAll(async () => {
    fake = s.start ? await s.start() : undefined;
  });
  afterAll(async () => fake?.close());
  const target = (over: { apiKey?: string; baseUrl?: string } = {}) => ({
    baseUrl: over.baseUrl ?? s.baseUrl(fake!),
    model: s.model,
    ...((over.apiKey ?? s.apiKey) ? { apiKey: over.apiKey ?? s.apiKey } : {}),
  });
  const chat = (req: Partial<ChatRequest>, o?: CallOptions, t = target()) =>
    s.adapter.chat({ model: "x", messages: [user("hello there")], ...req }, t, o ?? opts());
  const seen = () => (fake && s.view ? s.view(fake.last()) : undefined);

  it("plain chat: text, finish stop, usage, auth header", async () => {
    const r = await chat({});
    const res = asResponse(r);
    expect(res.object).toBe("chat.completion");
    expect(res.choices[0]!.message.role).toBe("assistant");
    expect(res.choices[0]!.message.content).toContain("hello there");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(r.kind === "response" && r.usage!.inputTokens).toBeGreaterThan(0);
    expect(r.kind === "response" && r.usage!.outputTokens).toBeGreaterThan(0);
    if (fake && s.auth) s.auth(fake.last(), s.apiKey ?? "");
  });

  it("system prompt reaches the upstream in its native place", async () => {
    const res = asResponse(await chat({ messages: [{ role: "system", content: "Be terse" }, user("hi")] }));
    expect(res.choices[0]!.message.content).toContain("hi");
    if (fake) expect(seen()!.system).toBe("Be terse");
  });

  it("multi-turn conversation", async () => {
    const res = asResponse(
      await chat({
        messages: [user("first question"), { role: "assistant", content: "first answer" }, user("second question")],
      }),
    );
    expect(res.choices[0]!.message.content).toContain("second question");
    if (fake) expect(seen()!.userTurns).toBe(2);
  });

  it("streaming text: chunks concatenate to the full text, one finish, final usage chunk", async () => {
    const full = asResponse(await chat({ messages: [user("stream these words please now")] })).choices[0]!.message
      .content;
    const r = await chat({ messages: [user("stream these words please now")], stream: true });
    const c = await collect(r);
    expect(c.text).toBe(full);
    expect(c.chunks.length).toBeGreaterThan(2);
    expect(c.finish).toEqual(["stop"]);
    expect(c.usageChunk?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(c.chunks[c.chunks.length - 1]).toBe(c.usageChunk);
    expect(r.kind === "stream" && r.usage()?.inputTokens).toBeGreaterThan(0);
    if (fake && s.name === "openai") expect(fake.last().body.stream_options).toEqual({ include_usage: true });
  });

  it("tool call (non-streaming)", async () => {
    const res = asResponse(await chat({ messages: [user("Use the weather tool for Paris")], tools: [weather] }));
    const ch = res.choices[0]!;
    expect(ch.finish_reason).toBe("tool_calls");
    expect(ch.message.tool_calls).toHaveLength(1);
    const tc = ch.message.tool_calls![0]!;
    expect(tc.id).toBeTruthy();
    expect(tc.function.name).toBe("get_weather");
    expect(typeof JSON.parse(tc.function.arguments).city).toBe("string");
  });

  it("tool call (streaming): arguments assembled", async () => {
    const c = await collect(
      await chat({ messages: [user("Use the weather tool for Paris")], tools: [weather], stream: true }),
    );
    expect(c.finish).toEqual(["tool_calls"]);
    expect(c.toolCalls).toHaveLength(1);
    expect(c.toolCalls[0]!.function.name).toBe("get_weather");
    expect(typeof JSON.parse(c.toolCalls[0]!.function.arguments).city).toBe("string");
  });

  it("parallel tool calls, streaming and not", async () => {
    const req = { messages: [user("Use both get_weather and get_time for Paris")], tools: [weather, time] };
    const res = asResponse(await chat(req));
    const calls = res.choices[0]!.message.tool_calls!;
    expect(calls.map((t) => t.function.name)).toEqual(["get_weather", "get_time"]);
    expect(new Set(calls.map((t) => t.id)).size).toBe(2);
    const c = await collect(await chat({ ...req, stream: true }));
    expect(c.toolCalls.map((t) => t.function.name)).toEqual(["get_weather", "get_time"]);
    for (const t of c.toolCalls) expect(JSON.parse(t.function.arguments)).toBeTypeOf("object");
  });

  it("tool result round trip", async () => {
    const res = asResponse(
      await chat({
        tools: [weather],
        messages: [
          user("Use the weather tool for Paris"),
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "18C and sunny" },
        ],
      }),
    );
    expect(res.choices[0]!.message.content).toContain("18C and sunny");
    expect(res.choices[0]!.finish_reason).toBe("stop");
  });

  it("JSON mode (json_object and json_schema, streaming too)", async () => {
    const a = asResponse(await chat({ messages: [user("give json")], response_format: { type: "json_object" } }));
    expect(JSON.parse(a.choices[0]!.message.content!)).toBeTypeOf("object");
    expect(a.choices[0]!.finish_reason).toBe("stop");
    const schema = {
      type: "object",
      properties: { answer: { type: "string" } },
      required: ["answer"],
      additionalProperties: false,
    };
    const rf = { type: "json_schema" as const, json_schema: { name: "reply", schema, strict: true } };
    const b = asResponse(await chat({ messages: [user("give json")], response_format: rf }));
    expect(JSON.parse(b.choices[0]!.message.content!)).toBeTypeOf("object");
    const c = await collect(await chat({ messages: [user("give json")], response_format: rf, stream: true }));
    expect(JSON.parse(c.text)).toBeTypeOf("object");
    expect(c.finish).toEqual(["stop"]);
  });

  it("image content part", async () => {
    const res = asResponse(
      await chat({
        messages: [
          user([
            { type: "text", text: "what is this" },
            { type: "image_url", image_url: { url: PNG } },
          ]),
        ],
      }),
    );
    expect(res.choices[0]!.message.content).toContain("what is this");
    if (fake) expect(seen()!.image).toBe("image/png");
  });

  it("stop sequences cut the text; finish reasons map (stop, length)", async () => {
    const a = asResponse(await chat({ messages: [user("alpha beta STOPHERE gamma")], stop: ["STOPHERE"] }));
    expect(a.choices[0]!.message.content).not.toContain("gamma");
    expect(a.choices[0]!.finish_reason).toBe("stop");
    const b = asResponse(await chat({ messages: [user("one two three four five six seven")], max_tokens: 2 }));
    expect(b.choices[0]!.finish_reason).toBe("length");
    const c = await collect(
      await chat({ messages: [user("one two three four five six seven")], max_tokens: 2, stream: true }),
    );
    expect(c.finish).toEqual(["length"]);
  });

  it.skipIf(!s.start)("usage includes cached input tokens (non-streaming and streaming)", async () => {
    const messages = [{ role: "system" as const, content: "Please cache this system prompt" }, user("hi")];
    const r = await chat({ messages });
    expect(r.kind === "response" && r.usage).toMatchObject({ cachedInputTokens: 8 });
    const u = r.kind === "response" ? r.usage! : undefined;
    expect(u!.inputTokens).toBeGreaterThan(8);
    const sr = await chat({ messages, stream: true });
    const c = await collect(sr);
    expect(sr.kind === "stream" && sr.usage()).toEqual(u);
    expect(c.usageChunk!.usage!.prompt_tokens_details?.cached_tokens).toBe(8);
  });

  it.skipIf(!s.n)("n > 1 returns several choices", async () => {
    const res = asResponse(await chat({ n: 2 }));
    expect(res.choices.map((c) => c.index)).toEqual([0, 1]);
  });
  it.skipIf(s.n)("n > 1 is refused as a gateway-side invalid request", async () => {
    await expect(chat({ n: 2 })).rejects.toMatchObject({ status: 400, code: "unsupported_parameter" });
  });

  it.skipIf(!s.embeddings)("embeddings", async () => {
    const r = await s.adapter.embeddings!({ model: "x", input: ["alpha", "beta gamma"] }, target(), opts());
    expect(r.response.data).toHaveLength(2);
    expect(r.response.data.map((d) => d.index)).toEqual([0, 1]);
    for (const d of r.response.data) expect((d.embedding as number[]).every((x) => typeof x === "number")).toBe(true);
    expect(r.usage.inputTokens).toBeGreaterThan(0);
  });

  it("abort during a stream ends the iterator at once with `aborted`", async () => {
    fake?.setFault({ type: "hang_after", chunks: 2 });
    try {
      const ac = new AbortController();
      const r = await chat(
        { messages: [user("a long answer with many many words in it")], stream: true },
        opts({ signal: ac.signal }),
      );
      if (r.kind !== "stream") throw new Error("stream expected");
      const it = r.stream[Symbol.asyncIterator]();
      await it.next();
      const closed = fake?.waitForClientAbort(2000);
      const started = Date.now();
      ac.abort();
      const err = await expectUpstreamError(
        (async () => {
          while (!(await it.next()).done);
        })(),
      );
      expect(err.kind).toBe("aborted");
      expect(Date.now() - started).toBeLessThan(1000);
      if (closed) expect(await closed).toBe(true);
    } finally {
      fake?.setFault(undefined);
    }
  });

  describe.skipIf(!s.start)("upstream faults", () => {
    const withFault = async <R>(f: Parameters<FakeServer["setFault"]>[0], fn: () => Promise<R>): Promise<R> => {
      fake!.setFault(f);
      try {
        return await fn();
      } finally {
        fake!.setFault(undefined);
      }
    };

    it("500 → http, retryable, upstream message kept", async () => {
      const e = await withFault({ type: "status", status: 500, message: "boom inside" }, () =>
        expectUpstreamError(chat({})),
      );
      expect(e).toMatchObject({ kind: "http", status: 500, retryable: true });
      expect(e.message).toContain("boom inside");
    });

    it("429 with Retry-After → retryAfterMs", async () => {
      const e = await withFault({ type: "status", status: 429, retryAfter: "7" }, () => expectUpstreamError(chat({})));
      expect(e).toMatchObject({ kind: "http", status: 429, retryable: true, retryAfterMs: 7000 });
    });

    it("400 → not retryable", async () => {
      const e = await withFault({ type: "status", status: 400, message: "bad thing" }, () =>
        expectUpstreamError(chat({})),
      );
      expect(e).toMatchObject({ kind: "http", status: 400, retryable: false });
      expect(e.message).toContain("bad thing");
    });

    it.skipIf(!s.apiKey)("auth failure never leaks the key into the error", async () => {
      const wrong = "sk-wrong-key-0123456789abcdef";
      const e = await expectUpstreamError(chat({}, opts(), target({ apiKey: wrong })));
      expect(e.kind).toBe("http");
      expect(e.retryable).toBe(false);
      expect(e.message).not.toContain(wrong);
      expect(e.message).not.toContain("0123456789abcdef");
    });

    it("connection refused → connect", async () => {
      const srv = http.createServer();
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      const port = (srv.address() as AddressInfo).port;
      await new Promise<void>((r) => srv.close(() => r()));
      const e = await expectUpstreamError(
        chat({}, opts(), target({ baseUrl: s.baseUrl({ url: `http://127.0.0.1:${port}` } as FakeServer) })),
      );
      expect(e).toMatchObject({ kind: "connect", retryable: true });
    });

    it("connect never completes → timeout_connect", async () => {
      const stuck = new Agent({ connect: () => undefined });
      const e = await expectUpstreamError(chat({}, opts({ dispatcher: stuck, timeouts: { connectMs: 150 } })));
      expect(e).toMatchObject({ kind: "timeout_connect", retryable: true });
      await stuck.destroy();
    });

    it("hang before headers → timeout_first_byte, and the socket is closed", async () => {
      const started = Date.now();
      const e = await withFault({ type: "hang_headers" }, async () => {
        const closed = fake!.waitForClientAbort(2000);
        const err = await expectUpstreamError(chat({}, opts({ timeouts: { firstByteMs: 200 } })));
        expect(await closed).toBe(true);
        return err;
      });
      expect(e).toMatchObject({ kind: "timeout_first_byte", retryable: true });
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it("abort before headers → rejects with aborted and the upstream sees the close", async () => {
      await withFault({ type: "hang_headers" }, async () => {
        const ac = new AbortController();
        const closed = fake!.waitForClientAbort(5000);
        // Aborted once the request is at the upstream (a fixed delay loses that race on a loaded machine).
        const before = fake!.requests.length;
        void (async () => {
          const until = Date.now() + 5000;
          while (fake!.requests.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
          ac.abort();
        })();
        const e = await expectUpstreamError(chat({}, opts({ signal: ac.signal })));
        expect(e.kind).toBe("aborted");
        expect(await closed).toBe(true);
      });
    });

    it("TCP reset mid-stream → iterator throws (no hang)", async () => {
      const e = await withFault({ type: "reset_after", chunks: 2 }, async () => {
        const r = await chat({ messages: [user("a long answer with many many words in it")], stream: true });
        return expectUpstreamError(collect(r));
      });
      expect(e.kind).toBe("reset");
    });

    it("silence mid-stream → timeout_idle from the iterator", async () => {
      const started = Date.now();
      const e = await withFault({ type: "hang_after", chunks: 2 }, async () => {
        const r = await chat(
          { messages: [user("a long answer with many many words in it")], stream: true },
          opts({ timeouts: { idleMs: 200 } }),
        );
        return expectUpstreamError(collect(r));
      });
      expect(e.kind).toBe("timeout_idle");
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it("slow but steady chunks complete; a total deadline still applies", async () => {
      const c = await withFault({ type: "slow", delayMs: 40 }, async () =>
        collect(
          await chat({ messages: [user("slow words arrive here")], stream: true }, opts({ timeouts: { idleMs: 400 } })),
        ),
      );
      expect(c.text).toContain("slow words");
      const e = await withFault({ type: "slow", delayMs: 80 }, async () =>
        expectUpstreamError(
          (async () =>
            collect(
              await chat(
                { messages: [user("slow words arrive here and here")], stream: true },
                opts({ timeouts: { totalMs: 250 } }),
              ),
            ))(),
        ),
      );
      expect(e).toMatchObject({ kind: "timeout_total", retryable: false });
    });

    it("302 redirect is not followed → http error, not retryable", async () => {
      const other = await startOpenAIFake();
      const e = await withFault({ type: "redirect", location: `${other.url}/v1/chat/completions` }, () =>
        expectUpstreamError(chat({})),
      );
      expect(e).toMatchObject({ kind: "http", status: 302, retryable: false });
      expect(other.requests).toHaveLength(0);
      await other.close();
    });

    it("non-JSON 200 body → protocol", async () => {
      const e = await withFault({ type: "garbage" }, () => expectUpstreamError(chat({})));
      expect(e.kind).toBe("protocol");
    });

    it("SSRF guard refuses loopback when not allowed → blocked, upstream never reached", async () => {
      const guarded = createGuardedDispatcher([]);
      const before = fake!.requests.length;
      const e = await expectUpstreamError(chat({}, opts({ dispatcher: guarded })));
      expect(e).toMatchObject({ kind: "blocked", retryable: false });
      expect(fake!.requests.length).toBe(before);
      await guarded.close();
    });
  });
});

describe("the fakes speak what the official SDKs expect", () => {
  it("openai SDK: JSON, stream with usage, tool calls", async () => {
    const { default: OpenAI } = await import("openai");
    const f = await startOpenAIFake({ apiKey: "sk-sdk" });
    try {
      const client = new OpenAI({ apiKey: "sk-sdk", baseURL: `${f.url}/v1`, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi sdk" }] });
      expect(r.choices[0]!.message.content).toContain("hi sdk");
      const s = await client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "Use the weather tool" }],
        tools: [weather],
        stream: true,
        stream_options: { include_usage: true },
      });
      let args = "";
      let usage = 0;
      for await (const c of s) {
        args += c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
        usage = c.usage?.total_tokens ?? usage;
      }
      expect(JSON.parse(args)).toHaveProperty("city");
      expect(usage).toBeGreaterThan(0);
    } finally {
      await f.close();
    }
  });

  it("anthropic SDK: message and streamed finalMessage", async () => {
    const { default: Anthropic } = await import("@anthropic-ai/sdk");
    const f = await startAnthropicFake({ apiKey: "sk-ant-sdk" });
    try {
      const client = new Anthropic({ apiKey: "sk-ant-sdk", baseURL: f.url, maxRetries: 0 });
      const m = await client.messages.create({
        model: "c",
        max_tokens: 50,
        messages: [{ role: "user", content: "hi sdk" }],
      });
      expect(m.content[0]).toMatchObject({ type: "text" });
      const final = await client.messages
        .stream({
          model: "c",
          max_tokens: 50,
          tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
          messages: [{ role: "user", content: "Use the weather tool" }],
        })
        .finalMessage();
      expect(final.content[0]).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } });
      expect(final.stop_reason).toBe("tool_use");
    } finally {
      await f.close();
    }
  });
});
