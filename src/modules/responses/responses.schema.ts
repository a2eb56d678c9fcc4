/**
 * Stored Responses API responses: one row per stored turn, sealed at rest
 * (the response and the input it answered, AES-256-GCM bound to the row:
 * platform/secretbox.ts), linked to the turn before by `previous_id`. A row
 * lives for `expires_at` (30 days, like OpenAI's); the log maintenance job
 * deletes expired rows, and deleting the project or organization deletes its rows.
 */
import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { organizations } from "../organizations/organizations.schema.js";
import { projects } from "../projects/projects.schema.js";

export const storedResponses = pgTable(
  "stored_responses",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    keyId: text("key_id").notNull(),
    previousId: text("previous_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** secretbox payload of {"response","input"|"items"}: the response (its output is the answer) and the input it answered */
    payload: text("payload").notNull(),
  },
  (t) => [index("stored_responses_expires_idx").on(t.expiresAt)],
);
