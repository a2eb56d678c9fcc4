import { describe, expect, it } from "vitest";
import { formatUsd, MoneyFormatError, parseUsd } from "./money.js";
import { moneyValues } from "./money-fields.js";

describe("parseUsd", () => {
  it.each([
    ["12.5", 12_500_000n],
    ["12.50", 12_500_000n],
    ["0.1", 100_000n],
    ["0.000001", 1n],
    [".5", 500_000n],
    ["7", 7_000_000n],
    ["7.", 7_000_000n],
    [" 3.25 ", 3_250_000n],
    ["0", 0n],
    ["123456789012.123456", 123_456_789_012_123_456n],
  ])("%s → %s micro-USD", (input, micro) => {
    expect(parseUsd(input)).toBe(micro);
  });

  it("parses numbers through their decimal form, exactly", () => {
    expect(parseUsd(0.1)).toBe(100_000n);
    expect(parseUsd(0.3)).toBe(300_000n);
    expect(parseUsd(12.5)).toBe(12_500_000n);
    expect(parseUsd(100)).toBe(100_000_000n);
  });

  it.each(["", "abc", "1,5", "1.2.3", "1e3", "0x10", "+1", "--1", "1.0000001", "NaN"])("refuses %j", (input) => {
    expect(() => parseUsd(input)).toThrow(MoneyFormatError);
  });

  it("refuses non-finite and exponent numbers", () => {
    expect(() => parseUsd(Number.NaN)).toThrow(MoneyFormatError);
    expect(() => parseUsd(Number.POSITIVE_INFINITY)).toThrow(MoneyFormatError);
    expect(() => parseUsd(1e21)).toThrow(MoneyFormatError);
    expect(() => parseUsd(1e-7)).toThrow(MoneyFormatError);
  });

  it("refuses negatives unless asked", () => {
    expect(() => parseUsd("-1")).toThrow(MoneyFormatError);
    expect(parseUsd("-1.5", { allowNegative: true })).toBe(-1_500_000n);
    expect(parseUsd("-0")).toBe(0n);
  });
});

describe("formatUsd", () => {
  it.each([
    [0n, "0.000000"],
    [1n, "0.000001"],
    [12_500_000n, "12.500000"],
    [-1_500_000n, "-1.500000"],
    [-1n, "-0.000001"],
    [9_223_372_036_854_775_807n, "9223372036854.775807"],
  ])("%s → %s", (micro, text) => {
    expect(formatUsd(micro)).toBe(text);
  });

  it("round-trips", () => {
    for (const s of ["0.000000", "1.000000", "12.345678", "99999.999999"]) expect(formatUsd(parseUsd(s))).toBe(s);
  });

  it("shapes API amounts", () => {
    expect(JSON.stringify(moneyValues("cap", 12_500_000n))).toBe('{"capMicroUsd":"12500000","capUsd":"12.500000"}');
    expect(moneyValues("cost", 1)).toEqual({ costMicroUsd: "1", costUsd: "0.000001" });
    expect(moneyValues("cap", null)).toEqual({ capMicroUsd: null, capUsd: null });
  });
});
