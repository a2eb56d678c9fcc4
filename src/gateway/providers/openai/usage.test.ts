/**
 * OpenAI usage extraction on payloads shaped like its real reports: every
 * component lands in its own field, parts never exceed their totals, and
 * absent/zero components leave no key behind (toStrictEqual).
 */
import { describe, expect, it } from "vitest";
import { type Usage, usageFromOpenAI, usageToOpenAI } from "../../types.js";

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
