/**
 * The response cache (where Redis does not hold it): answers kept per project
 * under the hash of their normalised request, until they expire. Invariants:
 *  - scoped to one project (and so one organization): a key never matches
 *    another project's answer;
 *  - an answer is stored as the client would see it after the security
 *    policy's output handling, never with anything the policy removed;
 *  - expired rows are never served, and are purged in the background.
 */
import { index, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const responseCache = pgTable(
  "response_cache",
  {
    projectId: text("project_id").notNull(),
    /** SHA-256 (hex) of the normalised request. */
    key: text("key").notNull(),
    orgId: text("org_id").notNull(),
    /** The answer (a whole chat completion, or the parts a stream is replayed from) and what served it. */
    entry: jsonb("entry").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.key] }), index("response_cache_expires_idx").on(t.expiresAt)],
);
