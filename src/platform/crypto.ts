/** Small crypto helpers on node:crypto (random tokens, digests, constant-time compare). */
import { createHash, randomBytes, randomFillSync, randomUUID, timingSafeEqual } from "node:crypto";
import { v7 } from "uuid";

export const newId = (): string => randomUUID();

/** Random bytes for time-ordered ids, drawn from the system's CSPRNG 4 KiB at a time (one call per 256 ids). */
const idPool = Buffer.alloc(4096);
let idPoolAt = idPool.length;

/**
 * A time-ordered id (UUIDv7: milliseconds, then 74 random bits), for rows written in time order: ids that
 * grow keep a table's index appends at one end (the request log's: ~15 % less CPU per row on the embedded
 * database than random ids). With its random bytes from a pool: the library's own source costs ~2.7 µs an id.
 */
export function newTimeId(): string {
  if (idPoolAt === idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  idPoolAt += 16;
  return v7({ random: idPool.subarray(idPoolAt - 16, idPoolAt) });
}
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url");
export const sha256Hex = (value: string): string => createHash("sha256").update(value).digest("hex");

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
