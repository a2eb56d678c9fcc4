/**
 * Organization API tokens: `tg_org_…` bearer credentials for the management
 * API of one organization. A row holds the token's SHA-256 (`digest`, unique)
 * and a display hint — never the token. Tokens are revoked, not deleted, so the
 * list and the audit trail keep naming them; deleting the organization deletes
 * its tokens. `project_ids` (null = no restriction) limits the project-scoped
 * routes the token reaches.
 */
import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { ASSIGNABLE_ROLES } from "../../platform/permissions.js";
import { nameField } from "../../platform/routes.js";
import { organizations } from "../organizations/organizations.schema.js";

export const TOKEN_REVOKE_REASONS = ["revoked", "member_removed"] as const;
export type TokenRevokeReason = (typeof TOKEN_REVOKE_REASONS)[number];

export const orgApiTokens = pgTable(
  "org_api_tokens",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    role: text("role", { enum: ASSIGNABLE_ROLES }).notNull(),
    projectIds: jsonb("project_ids").$type<string[]>(),
    digest: text("digest").notNull(),
    hint: text("hint").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedBy: text("revoked_by").references(() => users.id, { onDelete: "set null" }),
    revokedReason: text("revoked_reason", { enum: TOKEN_REVOKE_REASONS }),
  },
  (t) => [
    uniqueIndex("org_api_tokens_digest_uq").on(t.digest),
    index("org_api_tokens_org_idx").on(t.orgId, t.createdAt),
  ],
);

export type OrgApiTokenRow = typeof orgApiTokens.$inferSelect;

export const MAX_ACTIVE_TOKENS_PER_ORG = 100;

export const createTokenBody = z.strictObject({
  name: nameField,
  role: z
    .enum(ASSIGNABLE_ROLES)
    .describe("The role the token acts with. Only the owner mints admin tokens; admins mint member tokens."),
  projects: z
    .array(z.string().min(1).max(64))
    .min(1)
    .max(100)
    .optional()
    .describe("Project slugs: project routes answer only for these. Omitted = every project the role reaches."),
  expiresAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("When the token stops working (ISO 8601); omitted = never."),
});
export type CreateTokenInput = z.infer<typeof createTokenBody>;

export const tokenResponse = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ASSIGNABLE_ROLES),
  projects: z.array(z.string()).nullable().describe("Slugs of the projects the token is restricted to; null = none."),
  hint: z.string().describe("Prefix and last 4 characters, e.g. tg_org_…AbCd."),
  status: z.enum(["active", "expired", "revoked"]),
  createdBy: z.object({ userId: z.string().nullable(), email: z.string().nullable() }),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  revokedReason: z.enum(TOKEN_REVOKE_REASONS).nullable(),
});

export const createdTokenResponse = tokenResponse.extend({
  token: z.string().describe("The full token. Shown once: store it now; Tollgate keeps only its SHA-256."),
});
