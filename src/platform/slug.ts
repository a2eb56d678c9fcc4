/**
 * Slug allocation for rows with a unique slug (organizations; projects within
 * an organization). A slug the caller chose is tried once: taken is the
 * caller's error. A slug derived from a name is tried as it is, then with a
 * random suffix ("<base>-<6 hex>", at most 48 characters) until one is free.
 * The unique constraint decides; the existence check only saves a round trip.
 */
import { randomBytes } from "node:crypto";
import { isUniqueViolation } from "./db/db.js";
import { appError } from "./errors.js";

const ATTEMPTS = 6;
const withSuffix = (base: string) => `${base.slice(0, 41)}-${randomBytes(3).toString("hex")}`;

export interface SlugInsert<T> {
  /** The slug the caller asked for, if any. */
  requested: string | undefined;
  /** The slug derived from a name, used when none was asked for. */
  derive(): string;
  /** Whether a slug is taken now (asked once, for the derived slug as it is). */
  exists(slug: string): Promise<boolean>;
  /** Inserts the row with this slug (in its own transaction: a collision rolls it back). */
  insert(slug: string): Promise<T>;
  /** The unique constraint a taken slug violates. */
  constraint: string;
  /** The error for a requested slug that is taken. */
  taken(slug: string): Error;
}

export async function insertWithFreeSlug<T>(opts: SlugInsert<T>): Promise<T> {
  const base = opts.requested ?? opts.derive();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const slug = attempt === 0 ? base : withSuffix(base);
    if (!opts.requested && attempt === 0 && (await opts.exists(slug))) continue;
    try {
      return await opts.insert(slug);
    } catch (err) {
      if (!isUniqueViolation(err, opts.constraint)) throw err;
      if (opts.requested) throw opts.taken(slug);
    }
  }
  throw appError("SLUG_TAKEN", "Could not find a free slug for this name. Pass a slug explicitly.");
}
