/**
 * The API key format: `tg_live_` or `tg_test_` + 43 base62 characters (32 bytes
 * from the CSPRNG) + a 6-character base62 CRC32 checksum of everything before
 * it. Fixed length and alphabet let secret scanners match keys with one regex,
 * and the checksum lets the gateway refuse typos and garbage without touching
 * the database. The key itself is never stored: only its SHA-256 (hex) and a
 * display hint (prefix + last 4 characters).
 */
import { hash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

export const KEY_ENVIRONMENTS = ["live", "test"] as const;
export type KeyEnvironment = (typeof KEY_ENVIRONMENTS)[number];

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET_BYTES = 32;
/** 62^43 > 2^256: every 32-byte value fits in 43 base62 digits. */
export const BODY_LENGTH = 43;
/** 62^6 > 2^32: every CRC32 fits in 6 base62 digits. */
export const CHECKSUM_LENGTH = 6;
const PREFIX_LENGTH = "tg_live_".length;
export const KEY_LENGTH = PREFIX_LENGTH + BODY_LENGTH + CHECKSUM_LENGTH;

/** What a secret scanner (and the gateway, before any lookup) matches. */
export const KEY_PATTERN = /^tg_(live|test)_[0-9A-Za-z]{49}$/;

/** Fixed-width base62 of a non-negative integer (most significant digit first). */
export function base62(value: bigint, width: number): string {
  let out = "";
  let v = value;
  while (v > 0n) {
    out = ALPHABET[Number(v % 62n)]! + out;
    v /= 62n;
  }
  if (out.length > width) throw new RangeError(`value needs more than ${width} base62 digits`);
  return out.padStart(width, "0");
}

/** The checksum of a key's prefix + body. CRC32 detects typos, not forgery: it is public by design. */
export function checksum(prefixAndBody: string): string {
  return base62(BigInt(crc32(prefixAndBody)), CHECKSUM_LENGTH);
}

export function generateKey(environment: KeyEnvironment): string {
  const body = base62(BigInt(`0x${randomBytes(SECRET_BYTES).toString("hex")}`), BODY_LENGTH);
  const head = `tg_${environment}_${body}`;
  return head + checksum(head);
}

/**
 * Format and checksum only (no lookup). Returns the key's environment, or null
 * for anything that is not a well-formed Tollgate key.
 */
export function parseKey(raw: unknown): { environment: KeyEnvironment } | null {
  if (typeof raw !== "string" || raw.length !== KEY_LENGTH) return null;
  const m = KEY_PATTERN.exec(raw);
  if (!m) return null;
  const head = raw.slice(0, KEY_LENGTH - CHECKSUM_LENGTH);
  if (checksum(head) !== raw.slice(KEY_LENGTH - CHECKSUM_LENGTH)) return null;
  return { environment: m[1] as KeyEnvironment };
}

/** The stored lookup value: hex SHA-256 of the whole key. */
// One-shot hash: a third of the cost of createHash().update().digest() (it runs on every gateway call).
export const keyDigest = (raw: string): string => hash("sha256", raw, "hex");

/** What lists show: `tg_live_…AbCd`. Enough to recognise a key, useless to use it. */
export const keyHint = (raw: string): string => `${raw.slice(0, PREFIX_LENGTH)}…${raw.slice(-4)}`;
