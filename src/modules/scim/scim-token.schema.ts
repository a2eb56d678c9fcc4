/**
 * An organization's SCIM bearer token (`tg_scim_…`): at most one per
 * organization (`org_id` is unique), so rotating replaces the row and the old
 * token stops working in the same statement; disabling SCIM deletes it. The
 * row holds the token's SHA-256 (`digest`, unique) and a display hint, never
 * the token. Plus the management API's request/response shapes.
 */
import { pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

export const orgScimTokens = pgTable(
  "org_scim_tokens",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    digest: text("digest").notNull(),
    hint: text("hint").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("org_scim_tokens_org_uq").on(t.orgId), uniqueIndex("org_scim_tokens_digest_uq").on(t.digest)],
);

export type OrgScimTokenRow = typeof orgScimTokens.$inferSelect;

export const scimStatusResponse = z.object({
  enabled: z.boolean().describe("Whether a SCIM token exists: the identity provider can provision."),
  baseUrl: z
    .string()
    .describe(
      "The SCIM 2.0 base URL to paste into the identity provider (Okta: SCIM connector base URL; Entra ID: Tenant URL).",
    ),
  tokenHint: z.string().optional().describe("Prefix and last 4 characters of the token, e.g. tg_scim_…AbCd."),
  createdAt: z.string().optional().describe("When the current token was created."),
  createdBy: z.object({ userId: z.string().nullable(), email: z.string().nullable() }).optional(),
  lastUsedAt: z
    .string()
    .nullable()
    .optional()
    .describe("When the identity provider last called with it (to the minute)."),
});

export const scimTokenResponse = scimStatusResponse.extend({
  token: z
    .string()
    .describe(
      "The bearer token. Shown once: paste it into the identity provider now; Tollgate keeps only its SHA-256.",
    ),
});
