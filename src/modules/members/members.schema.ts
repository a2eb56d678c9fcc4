/**
 * Memberships. Invariants held by the database itself:
 *  - one row per (org, user): `members_org_user_uq`;
 *  - at most one owner per org: the partial unique index `members_one_owner_uq`.
 * "At least one owner" is held by the services, which change owner rows only in
 * a transfer that locks the organization row first.
 */
import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";

export const ROLES = ["owner", "admin", "member"] as const;
export type Role = (typeof ROLES)[number];

export const members = pgTable(
  "members",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ROLES }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("members_org_user_uq").on(t.orgId, t.userId),
    uniqueIndex("members_one_owner_uq").on(t.orgId).where(sql`role = 'owner'`),
    index("members_user_idx").on(t.userId),
  ],
);

export const changeRoleBody = z.strictObject({ role: z.enum(["admin", "member"]) });
export const removeMemberQuery = z.strictObject({
  keepKeys: z
    .enum(["true", "false"])
    .optional()
    .describe("Keep the member's API keys working after removal (default: revoke them)."),
});

export const memberResponse = z.object({
  userId: z.string(),
  name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  joinedAt: z.string(),
});
