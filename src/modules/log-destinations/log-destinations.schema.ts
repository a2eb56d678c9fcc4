/**
 * Log destinations: each organization streams its request-log rows to its own
 * signed webhooks. A row holds the URL, the signing secret sealed (secretbox,
 * bound to the org and the row) and the delivery progress, so any replica
 * resumes where another stopped:
 *  - two cursors over `request_logs` (created_at, id): `cursor_*` for
 *    requests that ran at most the "quick" time, `long_cursor_*` for the
 *    longer ones (log-destinations.delivery.ts says why); a null id means
 *    every row at that instant is behind the cursor;
 *  - the failure state of the batch being retried (`failures`,
 *    `failing_since`, `next_attempt_at`) and the counts shown to users.
 * Deleting the organization deletes its destinations.
 */
import { bigint, boolean, index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

export const LOG_DESTINATION_KINDS = ["webhook"] as const;
export const MAX_DESTINATIONS_PER_ORG = 10;

export const logDestinations = pgTable(
  "log_destinations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: LOG_DESTINATION_KINDS }).notNull(),
    url: text("url").notNull(),
    secretCiphertext: text("secret_ciphertext").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    cursorAt: timestamp("cursor_at", { withTimezone: true }).notNull(),
    cursorId: text("cursor_id"),
    longCursorAt: timestamp("long_cursor_at", { withTimezone: true }).notNull(),
    longCursorId: text("long_cursor_id"),
    deliveredRows: bigint("delivered_rows", { mode: "number" }).notNull().default(0),
    lastDeliveryAt: timestamp("last_delivery_at", { withTimezone: true }),
    deadLetteredRows: bigint("dead_lettered_rows", { mode: "number" }).notNull().default(0),
    deadLetteredBatches: integer("dead_lettered_batches").notNull().default(0),
    lastError: text("last_error"),
    lastErrorAt: timestamp("last_error_at", { withTimezone: true }),
    /** Failed attempts of the batch now being retried (0: none failing). */
    failures: integer("failures").notNull().default(0),
    failingSince: timestamp("failing_since", { withTimezone: true }),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }),
  },
  (t) => [index("log_destinations_org_idx").on(t.orgId, t.createdAt)],
);

export type LogDestinationRow = typeof logDestinations.$inferSelect;

/** The secretbox context of a destination's signing secret: bound to its org and row. */
export const sealContext = (orgId: string, id: string) => `log-destination:${orgId}:${id}`;

export const createDestinationBody = z.strictObject({
  kind: z.enum(LOG_DESTINATION_KINDS).describe("Where rows go: `webhook` (a signed HTTPS POST per batch)."),
  url: z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .describe("The receiver's URL (https recommended: bodies are signed, not encrypted)."),
});
export type CreateDestinationInput = z.infer<typeof createDestinationBody>;

export const updateDestinationBody = z.strictObject({
  enabled: z.boolean().describe("false pauses delivery (rows wait); true resumes where it stopped."),
});

export const destinationParams = z.object({ org: z.string().min(1).max(64), id: z.uuid() });

export const destinationOut = z.object({
  id: z.string(),
  kind: z.enum(LOG_DESTINATION_KINDS),
  url: z.string(),
  enabled: z.boolean(),
  secretHint: z.string().describe("The end of the signing secret; the secret itself is shown once, at creation."),
  createdAt: z.string(),
  status: z.object({
    state: z
      .enum(["delivering", "retrying", "paused"])
      .describe("`retrying`: the current batch failed and is retried with backoff; `paused`: disabled."),
    deliveredThrough: z
      .string()
      .describe("Every request that started up to this time and ran at most `quickSeconds` has been delivered."),
    longRequestsThrough: z
      .string()
      .describe("The same for longer requests (shipped once no request can still be running)."),
    quickSeconds: z.number(),
    deliveredRows: z.number(),
    lastDeliveryAt: z.string().nullable(),
    backlog: z.number().describe("Rows logged and not yet delivered (counted up to 100 000)."),
    deadLetteredRows: z.number().describe("Rows skipped after their batch failed for too long."),
    deadLetteredBatches: z.number(),
    failures: z.number().describe("Failed attempts of the batch being retried."),
    nextAttemptAt: z.string().nullable(),
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
  }),
});

export const createdDestinationOut = destinationOut.extend({
  secret: z.string().describe("The signing secret (`whsec_…`) — shown only in this response."),
});
