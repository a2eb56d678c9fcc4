/**
 * Audio priced per hour (whisper-1 in the price library): the charge of the
 * reported seconds, rounded up once to the micro-USD; the hold of a bounded
 * duration; a per-hour price is never free; the library's key and the
 * override field reach the same component.
 */
import { describe, expect, it } from "vitest";
import { libraryModel } from "../catalog.js";
import type { PriceInfo } from "../hooks.js";
import { costMicroUsd, isFree, parsePriceOverrides, worstCaseMicroUsd } from "./cost.js";

const WHISPER: PriceInfo = {
  inputMicroUsdPerM: 0n,
  cachedInputMicroUsdPerM: 0n,
  outputMicroUsdPerM: 0n,
  audioInputMicroUsdPerHour: 360_000n,
};
const seconds = (s: number) => ({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, audioInputSeconds: s });

describe("audio priced per hour", () => {
  it("charges the seconds at the hourly price, rounded up once", () => {
    expect(costMicroUsd(seconds(12), WHISPER)).toBe(1_200n);
    expect(costMicroUsd(seconds(3600), WHISPER)).toBe(360_000n);
    // 1 ms = 0.1 micro-USD: billed as 1, never 0.
    expect(costMicroUsd(seconds(0.001), WHISPER)).toBe(1n);
    // 8.4731 s → 8,474 ms (a started millisecond counts) = 847.4 → 848 micro-USD.
    expect(costMicroUsd(seconds(8.4731), WHISPER)).toBe(848n);
    expect(costMicroUsd(seconds(12), WHISPER, 10_000_000n)).toBe(1_320n);
    expect(costMicroUsd({ inputTokens: 1000, cachedInputTokens: 0, outputTokens: 0 }, WHISPER)).toBe(0n);
  });

  it("holds the bounded duration, and a per-hour price is not free", () => {
    expect(worstCaseMicroUsd(0, 0, WHISPER, 0n, { audioSeconds: 192 })).toBe(19_200n);
    expect(worstCaseMicroUsd(0, 0, WHISPER)).toBe(0n);
    expect(isFree(WHISPER)).toBe(false);
  });

  it("comes from the library's input_audio_hours and from the audioInputPerHour override", () => {
    expect(libraryModel("openai", "whisper-1")?.prices?.audioInputMicroUsdPerHour).toBe(360_000n);
    const o = parsePriceOverrides(JSON.stringify({ "my/stt": { audioInputPerHour: "0.5" } })).get("my/stt")!;
    expect(o.audioInputMicroUsdPerHour).toBe(500_000n);
    expect(costMicroUsd(seconds(36), o)).toBe(5_000n);
  });
});
