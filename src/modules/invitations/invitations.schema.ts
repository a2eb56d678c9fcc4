/**
 * Invitations. The token is random (32 bytes) and stored only as its SHA-256;
 * emails are stored lower-cased. `invitations_pending_uq` keeps at most one
 * pending invitation per (org, email), which also makes a duplicate invite a
 * clean 409 under races.
 */
import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { ASSIGNABLE_ROLES } from "../../platform/permissions.js";
import { organizations } from "../organizations/organizations.schema.js";

export const INVITATION_STATUSES = ["pending", "accepted", "declined", "revoked", "expired"] as const;

export const invitations = pgTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ASSIGNABLE_ROLES }).notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    status: text("status", { enum: INVITATION_STATUSES }).notNull().default("pending"),
    invitedBy: text("invited_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    respondedAt: timestamp("responded_at", { withTimezone: true }),
    respondedBy: text("responded_by").references(() => users.id, { onDelete: "set null" }),
  },
  (t) => [
    uniqueIndex("invitations_pending_uq").on(t.orgId, t.email).where(sql`status = 'pending'`),
    index("invitations_org_idx").on(t.orgId, t.createdAt),
  ],
);

export const createInvitationBody = z.strictObject({
  email: z.email("Enter a valid email address.").max(254),
  role: z.enum(ASSIGNABLE_ROLES, "Role must be admin or member."),
});

export const invitationResponse = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(ASSIGNABLE_ROLES),
  status: z.enum(INVITATION_STATUSES),
  expired: z.boolean(),
  invitedBy: z.object({ id: z.string(), name: z.string() }).nullable(),
  expiresAt: z.string(),
  createdAt: z.string(),
});

export const invitationPreview = z.object({
  organization: z.object({ slug: z.string(), name: z.string() }),
  invitedBy: z.object({ name: z.string() }).nullable(),
  email: z.string(),
  role: z.enum(ASSIGNABLE_ROLES),
  status: z.enum(INVITATION_STATUSES),
  expired: z.boolean(),
  expiresAt: z.string(),
});
