/**
 * Gemini usage extraction on payloads shaped like its real reports: every
 * component lands in its own field, parts never exceed their totals, and
 * absent/zero components leave no key behind (toStrictEqual).
 */
import { describe, expect, it } from "vitest";
import { GEMINI_USAGE, GEMINI_USAGE_METADATA } from "../../../../test/fakes/usage-reports.js";
import { usageFromGemini } from "./usage.js";

describe("Gemini usage", () => {
  it("reads thoughts as reasoning, audio and image input, cached audio", () => {
    expect(usageFromGemini(GEMINI_USAGE_METADATA)).toStrictEqual(GEMINI_USAGE);
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
