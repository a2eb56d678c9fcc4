/**
 * The SCIM token format: `tg_scim_` + 43 base62 characters (32 bytes from the
 * CSPRNG) + a 6-character base62 CRC32 checksum, built from the same pieces as
 * project keys and organization tokens (keys/key-format.ts), so secret
 * scanners match it with one regex and garbage is refused without a lookup.
 * Only the SHA-256 (hex) and a hint (prefix + last 4 characters) are stored.
 */
import { randomBytes } from "node:crypto";
import { BODY_LENGTH, base62, CHECKSUM_LENGTH, checksum, keyDigest } from "../keys/key-format.js";

const TOKEN_PREFIX = "tg_scim_";
const TOKEN_LENGTH = TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;
const TOKEN_PATTERN = /^tg_scim_[0-9A-Za-z]{49}$/;

export function generateScimToken(): string {
  const head = TOKEN_PREFIX + base62(BigInt(`0x${randomBytes(32).toString("hex")}`), BODY_LENGTH);
  return head + checksum(head);
}

/** Shape and checksum only (no lookup). */
export function isWellFormedScimToken(raw: string): boolean {
  if (raw.length !== TOKEN_LENGTH || !TOKEN_PATTERN.test(raw)) return false;
  return checksum(raw.slice(0, TOKEN_LENGTH - CHECKSUM_LENGTH)) === raw.slice(TOKEN_LENGTH - CHECKSUM_LENGTH);
}

export const scimTokenDigest = keyDigest;

/** What the status shows: `tg_scim_…AbCd`. */
export const scimTokenHint = (raw: string): string => `${TOKEN_PREFIX}…${raw.slice(-4)}`;
