/**
 * Usage extraction per upstream format, on payloads shaped like the providers'
 * real reports: every component lands in its own field, parts never exceed
 * their totals, and absent/zero components leave no key behind (toStrictEqual).
 */
import { describe, expect, it } from "vitest";
import { type Usage, usageFromOpenAI, usageToOpenAI } from "../types.js";
import { mergeAnthropicUsage, usageFromAnthropic } from "./anthropic.js";
import { usageFromGemini } from "./gemini.js";

describe("OpenAI usage", () => {
  it("reads cached and audio input, audio output (gpt-4o-audio)", () => {
    const u = usageFromOpenAI({
      prompt_tokens: 1230,
      completion_tokens: 540,
      total_tokens: 1770,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 180 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 412,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
    expect(u).toStrictEqual({
      inputTokens: 1230,
      cachedInputTokens: 1024,
      outputTokens: 540,
      audioInputTokens: 180,
      audioOutputTokens: 412,
    });
  });

  it("reads reasoning as a part of completion_tokens (o-series)", () => {
    const u = usageFromOpenAI({
      prompt_tokens: 2048,
      completion_tokens: 1890,
      total_tokens: 3938,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 1536,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
    expect(u).toStrictEqual({ inputTokens: 2048, cachedInputTokens: 0, outputTokens: 1890, reasoningTokens: 1536 });
  });

  it("adds reasoning to output when the server counts it beside completion_tokens (xAI)", () => {
    const u = usageFromOpenAI({
      prompt_tokens: 12,
      completion_tokens: 1,
      total_tokens: 399,
      prompt_tokens_details: { cached_tokens: 8 },
      completion_tokens_details: { reasoning_tokens: 386 },
    });
    expect(u).toStrictEqual({ inputTokens: 12, cachedInputTokens: 8, outputTokens: 387, reasoningTokens: 386 });
  });

  it("reads image tokens where a server reports them, and clamps parts to their totals", () => {
    const u = usageFromOpenAI({
      prompt_tokens: 10,
      completion_tokens: 4,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 50, audio_tokens: 6, image_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 3, audio_tokens: 7, image_tokens: 2 },
    });
    expect(u).toStrictEqual({
      inputTokens: 10,
      cachedInputTokens: 10,
      outputTokens: 4,
      audioInputTokens: 6,
      imageInputTokens: 4,
      reasoningTokens: 3,
      audioOutputTokens: 1,
    });
  });

  it("ignores non-numbers, negatives and null details", () => {
    const u = usageFromOpenAI({
      prompt_tokens: -1,
      completion_tokens: "5",
      total_tokens: Infinity,
      prompt_tokens_details: null,
      completion_tokens_details: { reasoning_tokens: Infinity, audio_tokens: NaN },
    } as never);
    expect(u).toStrictEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
    expect(usageFromOpenAI(null)).toBeUndefined();
  });

  it("renders only the components that are set, and reads them back", () => {
    expect(usageToOpenAI({ inputTokens: 30, cachedInputTokens: 0, outputTokens: 5 })).toStrictEqual({
      prompt_tokens: 30,
      completion_tokens: 5,
      total_tokens: 35,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    const full: Usage = {
      inputTokens: 1650,
      cachedInputTokens: 1024,
      outputTokens: 640,
      audioInputTokens: 960,
      cachedAudioInputTokens: 724,
      imageInputTokens: 240,
      reasoningTokens: 520,
      audioOutputTokens: 100,
    };
    const wire = usageToOpenAI(full);
    expect(wire).toStrictEqual({
      prompt_tokens: 1650,
      completion_tokens: 640,
      total_tokens: 2290,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 960 },
      completion_tokens_details: { reasoning_tokens: 520, audio_tokens: 100 },
    });
    expect(
      usageToOpenAI({ inputTokens: 1, cachedInputTokens: 0, outputTokens: 9, audioOutputTokens: 9 })
        .completion_tokens_details,
    ).toStrictEqual({ audio_tokens: 9 });
    expect(usageFromOpenAI(wire)).toStrictEqual({
      inputTokens: 1650,
      cachedInputTokens: 1024,
      outputTokens: 640,
      audioInputTokens: 960,
      reasoningTokens: 520,
      audioOutputTokens: 100,
    });
  });
});

describe("Anthropic usage", () => {
  const report = {
    input_tokens: 21,
    cache_creation_input_tokens: 3000,
    cache_read_input_tokens: 12000,
    cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
    output_tokens: 640,
    service_tier: "standard",
    server_tool_use: { web_search_requests: 2 },
  };
  const expected: Usage = {
    inputTokens: 15021,
    cachedInputTokens: 12000,
    outputTokens: 640,
    cacheWriteInputTokens: 3000,
    cacheWrite1hInputTokens: 2000,
    webSearches: 2,
  };

  it("adds cache reads and writes to input, splits the 1h writes, counts web searches", () => {
    expect(usageFromAnthropic(report)).toStrictEqual(expected);
  });

  it("leaves zero components out", () => {
    const u = usageFromAnthropic({
      input_tokens: 25,
      output_tokens: 9,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      server_tool_use: { web_search_requests: 0 },
    });
    expect(u).toStrictEqual({ inputTokens: 25, cachedInputTokens: 0, outputTokens: 9 });
  });

  it("takes the write total from the breakdown alone, and clamps the 1h part to the total", () => {
    expect(
      usageFromAnthropic({
        input_tokens: 5,
        output_tokens: 1,
        cache_creation: { ephemeral_5m_input_tokens: 30, ephemeral_1h_input_tokens: 70 },
      }),
    ).toStrictEqual({
      inputTokens: 105,
      cachedInputTokens: 0,
      outputTokens: 1,
      cacheWriteInputTokens: 100,
      cacheWrite1hInputTokens: 70,
    });
    expect(
      usageFromAnthropic({
        input_tokens: 0,
        output_tokens: 0,
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_1h_input_tokens: 80 },
      }),
    ).toStrictEqual({
      inputTokens: 50,
      cachedInputTokens: 0,
      outputTokens: 0,
      cacheWriteInputTokens: 50,
      cacheWrite1hInputTokens: 50,
    });
  });

  it("ignores non-numbers and negatives", () => {
    const u = usageFromAnthropic({
      input_tokens: "7",
      output_tokens: -2,
      cache_read_input_tokens: null,
      cache_creation: null,
      server_tool_use: { web_search_requests: NaN },
    } as never);
    expect(u).toStrictEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
    expect(usageFromAnthropic(undefined)).toStrictEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
  });

  it("merges message_start and the cumulative message_delta, nested breakdowns included", () => {
    const start = {
      input_tokens: 21,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 12000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 1,
      service_tier: "standard",
    };
    const raw = mergeAnthropicUsage({}, start);
    expect(usageFromAnthropic(raw)).toStrictEqual({
      inputTokens: 15021,
      cachedInputTokens: 12000,
      outputTokens: 1,
      cacheWriteInputTokens: 3000,
      cacheWrite1hInputTokens: 2000,
    });
    mergeAnthropicUsage(raw, {
      input_tokens: null,
      cache_creation_input_tokens: null,
      output_tokens: 640,
      cache_creation: { ephemeral_5m_input_tokens: null },
      server_tool_use: { web_search_requests: 2 },
    });
    expect(usageFromAnthropic(raw)).toStrictEqual(expected);
    expect(start.cache_creation).toEqual({ ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 });
    mergeAnthropicUsage(raw, undefined);
    mergeAnthropicUsage(raw, { server_tool_use: { web_search_requests: 3 }, output_tokens: 700 });
    expect(usageFromAnthropic(raw)).toMatchObject({ outputTokens: 700, webSearches: 3, cacheWrite1hInputTokens: 2000 });
  });
});

describe("Gemini usage", () => {
  it("reads thoughts as reasoning, audio and image input, cached audio", () => {
    const u = usageFromGemini({
      promptTokenCount: 1650,
      candidatesTokenCount: 120,
      totalTokenCount: 2290,
      cachedContentTokenCount: 1024,
      promptTokensDetails: [
        { modality: "TEXT", tokenCount: 450 },
        { modality: "AUDIO", tokenCount: 960 },
        { modality: "IMAGE", tokenCount: 240 },
      ],
      cacheTokensDetails: [
        { modality: "TEXT", tokenCount: 300 },
        { modality: "AUDIO", tokenCount: 724 },
      ],
      candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 120 }],
      thoughtsTokenCount: 520,
    });
    expect(u).toStrictEqual({
      inputTokens: 1650,
      cachedInputTokens: 1024,
      outputTokens: 640,
      audioInputTokens: 960,
      cachedAudioInputTokens: 724,
      imageInputTokens: 240,
      reasoningTokens: 520,
    });
  });

  it("reads audio output (TTS), image output, and tool-use prompt tokens", () => {
    expect(
      usageFromGemini({
        promptTokenCount: 12,
        candidatesTokenCount: 1480,
        totalTokenCount: 1492,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: 12 }],
        candidatesTokensDetails: [{ modality: "AUDIO", tokenCount: 1480 }],
      }),
    ).toStrictEqual({ inputTokens: 12, cachedInputTokens: 0, outputTokens: 1480, audioOutputTokens: 1480 });
    expect(
      usageFromGemini({
        promptTokenCount: 270,
        candidatesTokenCount: 1300,
        totalTokenCount: 1570,
        promptTokensDetails: [
          { modality: "TEXT", tokenCount: 12 },
          { modality: "IMAGE", tokenCount: 258 },
        ],
        candidatesTokensDetails: [
          { modality: "TEXT", tokenCount: 10 },
          { modality: "IMAGE", tokenCount: 1290 },
        ],
      }),
    ).toStrictEqual({
      inputTokens: 270,
      cachedInputTokens: 0,
      outputTokens: 1300,
      imageInputTokens: 258,
      imageOutputTokens: 1290,
    });
    expect(
      usageFromGemini({
        promptTokenCount: 100,
        toolUsePromptTokenCount: 400,
        candidatesTokenCount: 50,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: 100 }],
        toolUsePromptTokensDetails: [{ modality: "IMAGE", tokenCount: 258 }],
      }),
    ).toStrictEqual({ inputTokens: 500, cachedInputTokens: 0, outputTokens: 50, imageInputTokens: 258 });
  });

  it("clamps parts to their totals and ignores malformed details", () => {
    expect(
      usageFromGemini({
        promptTokenCount: 100,
        cachedContentTokenCount: 500,
        candidatesTokenCount: 10,
        thoughtsTokenCount: 5,
        promptTokensDetails: [
          { modality: "AUDIO", tokenCount: 80 },
          { modality: "IMAGE", tokenCount: 80 },
        ],
        cacheTokensDetails: [{ modality: "AUDIO", tokenCount: 90 }],
        candidatesTokensDetails: [
          { modality: "AUDIO", tokenCount: 8 },
          { modality: "IMAGE", tokenCount: 8 },
        ],
      }),
    ).toStrictEqual({
      inputTokens: 100,
      cachedInputTokens: 100,
      outputTokens: 15,
      audioInputTokens: 80,
      cachedAudioInputTokens: 80,
      imageInputTokens: 20,
      reasoningTokens: 5,
      audioOutputTokens: 8,
      imageOutputTokens: 2,
    });
    expect(
      usageFromGemini({
        promptTokenCount: "9",
        candidatesTokenCount: -1,
        thoughtsTokenCount: NaN,
        promptTokensDetails: { modality: "AUDIO", tokenCount: 5 },
        candidatesTokensDetails: [null, { modality: "AUDIO" }],
      } as never),
    ).toStrictEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
    expect(usageFromGemini(undefined)).toBeUndefined();
  });
});
