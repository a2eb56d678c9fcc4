import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  base62,
  BODY_LENGTH,
  checksum,
  generateKey,
  KEY_LENGTH,
  KEY_PATTERN,
  keyDigest,
  keyHint,
  parseKey,
} from "./key-format.js";

describe("key format", () => {
  it("generates live and test keys of fixed length that scanners can match", () => {
    const live = generateKey("live");
    const test = generateKey("test");
    expect(live).toMatch(/^tg_live_[0-9A-Za-z]{49}$/);
    expect(test).toMatch(/^tg_test_[0-9A-Za-z]{49}$/);
    expect(live).toHaveLength(KEY_LENGTH);
    expect(KEY_PATTERN.test(live) && KEY_PATTERN.test(test)).toBe(true);
    expect(parseKey(live)).toEqual({ environment: "live" });
    expect(parseKey(test)).toEqual({ environment: "test" });
  });

  it("carries at least 32 random bytes: 43 base62 digits cover 2^256", () => {
    expect(62n ** BigInt(BODY_LENGTH) >= 2n ** 256n).toBe(true);
    expect(base62(2n ** 256n - 1n, BODY_LENGTH)).toHaveLength(BODY_LENGTH);
    const keys = new Set(Array.from({ length: 2000 }, () => generateKey("live")));
    expect(keys.size).toBe(2000);
  });

  it("ends with the base62 CRC32 of prefix + body", () => {
    const key = generateKey("live");
    const head = key.slice(0, -6);
    expect(key.slice(-6)).toBe(base62(BigInt(crc32(head)), 6));
    expect(checksum(head)).toBe(key.slice(-6));
  });

  it("refuses any single-character change (checksum)", () => {
    const key = generateKey("live");
    const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let refused = 0;
    let tried = 0;
    for (let i = 8; i < key.length; i++) {
      for (const c of alphabet.slice(0, 8)) {
        if (c === key[i]) continue;
        tried++;
        if (parseKey(key.slice(0, i) + c + key.slice(i + 1)) === null) refused++;
      }
    }
    expect(refused).toBe(tried);
  });

  it.each([
    ["empty", ""],
    ["too short", "tg_live_abc"],
    ["unknown prefix", `tg_prod_${"a".repeat(49)}`],
    ["other vendor", `sk-${"a".repeat(48)}`],
    ["sql", "' OR '1'='1"],
    ["non-base62", `tg_live_${"a".repeat(42)}-${"a".repeat(6)}`],
    ["whitespace", ` tg_live_${"a".repeat(48)}`],
  ])("refuses %s", (_name, raw) => {
    expect(parseKey(raw)).toBeNull();
  });

  it("refuses a key moved to the other environment (the prefix is under the checksum)", () => {
    const key = generateKey("live");
    expect(parseKey(key.replace("tg_live_", "tg_test_"))).toBeNull();
  });

  it("refuses non-strings", () => {
    expect(parseKey(undefined)).toBeNull();
    expect(parseKey(42)).toBeNull();
  });

  it("digests with SHA-256 hex and hints with prefix + last 4", () => {
    const key = generateKey("test");
    expect(keyDigest(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyHint(key)).toBe(`tg_test_…${key.slice(-4)}`);
  });
});
