/**
 * Usage end to end through each adapter against its provider fake, with the
 * fake scripted to report every component: the Usage the adapter hands to
 * billing and the OpenAI usage object it renders, streaming and not.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startAnthropicFake } from "../../../test/fakes/anthropic-fake.js";
import type { FakeServer } from "../../../test/fakes/base.js";
import { startGeminiFake } from "../../../test/fakes/gemini-fake.js";
import { startOpenAIFake } from "../../../test/fakes/openai-fake.js";
import {
  ANTHROPIC_USAGE,
  ANTHROPIC_USAGE_REPORT,
  GEMINI_USAGE,
  GEMINI_USAGE_METADATA,
} from "../../../test/fakes/usage-reports.js";
import { createGuardedDispatcher } from "../net/ssrf.js";
import type { ChatChunk, ChatRequest, Usage } from "../types.js";
import { createAnthropicAdapter } from "./anthropic/index.js";
import { createGeminiAdapter } from "./gemini/index.js";
import { createOpenAIAdapter } from "./openai/index.js";
import type { CallOptions, ChatResult, ProviderAdapter } from "./types.js";

const dispatcher = createGuardedDispatcher(["127.0.0.1"]);
afterAll(() => dispatcher.close());
const opts = (): CallOptions => ({
  signal: new AbortController().signal,
  dispatcher,
  timeouts: { connectMs: 2000, firstByteMs: 2000, idleMs: 2000, totalMs: 10_000 },
});

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const req = (stream: boolean): ChatRequest => ({
  model: "m",
  messages: [{ role: "user", content: "hello there" }],
  ...(stream ? { stream } : {}),
});

/** Runs one call and returns the adapter's Usage and the usage object it rendered. */
async function run(adapter: ProviderAdapter, baseUrl: string, model: string, stream: boolean) {
  const r: ChatResult = await adapter.chat(req(stream), { baseUrl, model }, opts());
  if (r.kind === "response") return { usage: r.usage, rendered: r.response.usage };
  if (r.kind !== "stream") throw new Error("a canonical answer was expected");
  let last: ChatChunk | undefined;
  for await (const c of r.stream) if (c.choices.length === 0 && c.usage) last = c;
  return { usage: r.usage(), rendered: last?.usage ?? undefined };
}

describe("OpenAI adapter usage", () => {
  const usage = {
    prompt_tokens: 1230,
    completion_tokens: 2340,
    total_tokens: 3570,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 180 },
    completion_tokens_details: {
      reasoning_tokens: 1800,
      audio_tokens: 412,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  const expected: Usage = {
    inputTokens: 1230,
    cachedInputTokens: 1024,
    outputTokens: 2340,
    audioInputTokens: 180,
    reasoningTokens: 1800,
    audioOutputTokens: 412,
  };
  const rendered = {
    prompt_tokens: 1230,
    completion_tokens: 2340,
    total_tokens: 3570,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 180 },
    completion_tokens_details: { reasoning_tokens: 1800, audio_tokens: 412 },
  };

  it.each([false, true])("reports every component (stream: %s)", async (stream) => {
    fake = await startOpenAIFake({ usage });
    const out = await run(createOpenAIAdapter(), `${fake.url}/v1`, "gpt-4o-audio-preview", stream);
    expect(out.usage).toStrictEqual(expected);
    // A non-streamed response is forwarded as the upstream sent it; the stream's usage chunk is ours.
    expect(out.rendered).toEqual(stream ? rendered : usage);
  });

  it("reads usage on the last choice chunk of compatible servers, xAI's reasoning included", async () => {
    const xai = {
      prompt_tokens: 12,
      completion_tokens: 1,
      total_tokens: 399,
      prompt_tokens_details: { cached_tokens: 8 },
      completion_tokens_details: { reasoning_tokens: 386 },
    };
    fake = await startOpenAIFake({ variant: "compatible", usage: xai });
    const out = await run(createOpenAIAdapter({ label: "xai" }), `${fake.url}/v1`, "grok-3-mini", true);
    expect(out.usage).toStrictEqual({ inputTokens: 12, cachedInputTokens: 8, outputTokens: 387, reasoningTokens: 386 });
    expect(out.rendered).toStrictEqual({
      prompt_tokens: 12,
      completion_tokens: 387,
      total_tokens: 399,
      prompt_tokens_details: { cached_tokens: 8 },
      completion_tokens_details: { reasoning_tokens: 386 },
    });
  });
});

describe("Anthropic adapter usage", () => {
  const usage = ANTHROPIC_USAGE_REPORT;
  const expected = ANTHROPIC_USAGE;

  it.each([false, true])("bills cache writes split 5m/1h and web searches (stream: %s)", async (stream) => {
    fake = await startAnthropicFake({ usage });
    const out = await run(createAnthropicAdapter(), fake.url, "claude-sonnet-4-5", stream);
    expect(out.usage).toStrictEqual(expected);
    expect(out.rendered).toStrictEqual({
      prompt_tokens: 15021,
      completion_tokens: 640,
      total_tokens: 15661,
      prompt_tokens_details: { cached_tokens: 12000 },
    });
  });

  it("keeps today's default report", async () => {
    fake = await startAnthropicFake();
    const out = await run(createAnthropicAdapter(), fake.url, "claude-sonnet-4-5", true);
    expect(out.usage).toStrictEqual({
      inputTokens: expect.any(Number),
      cachedInputTokens: 0,
      outputTokens: expect.any(Number),
    });
  });
});

describe("Gemini adapter usage", () => {
  const usageMetadata = GEMINI_USAGE_METADATA;
  const expected = GEMINI_USAGE;

  it.each([false, true])("bills thoughts, audio and image input, cached audio (stream: %s)", async (stream) => {
    fake = await startGeminiFake({ usage: usageMetadata });
    const out = await run(createGeminiAdapter(), fake.url, "gemini-2.5-flash", stream);
    expect(out.usage).toStrictEqual(expected);
    expect(out.rendered).toStrictEqual({
      prompt_tokens: 1650,
      completion_tokens: 640,
      total_tokens: 2290,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 960 },
      completion_tokens_details: { reasoning_tokens: 520 },
    });
  });
});
