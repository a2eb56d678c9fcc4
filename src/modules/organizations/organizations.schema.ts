/**
 * Organizations: the tenant boundary. Every other org-owned row references
 * `organizations.id` with ON DELETE CASCADE, so deleting an organization removes
 * everything it owns in one statement.
 *
 * Memberships (`members`, the org's roster) live here too: every org-wide
 * change re-reads the actor's role under the org's row lock (org-lock.ts).
 * Invariants held by the database itself:
 *  - one row per (org, user): `members_org_user_uq`;
 *  - at most one owner per org: the partial unique index `members_one_owner_uq`.
 * "At least one owner" is held by the services, which change owner rows only in
 * a transfer that locks the organization row first.
 */
import { sql } from "drizzle-orm";
import { boolean, index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { ROLES } from "../../platform/permissions.js";
import { nameField } from "../../platform/routes.js";

export const organizations = pgTable("organizations", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  personal: boolean("personal").notNull().default(false),
  /** Members without two-factor authentication are refused on this org's routes (TWO_FACTOR_REQUIRED). */
  requireTwoFactor: boolean("require_two_factor").notNull().default(false),
  /** Members other than the owner reach this org only with a session signed in through its identity provider (SSO_REQUIRED). */
  requireSso: boolean("require_sso").notNull().default(false),
  createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Per-user state: the organization the user last switched to. */
export const userState = pgTable("user_state", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  activeOrgId: text("active_org_id").references(() => organizations.id, { onDelete: "set null" }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Memberships: who belongs to which organization, with which role. */
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

export const RESERVED_SLUGS = new Set([
  "api",
  "app",
  "admin",
  "administrator",
  "auth",
  "billing",
  "dashboard",
  "docs",
  "help",
  "invite",
  "invitations",
  "login",
  "logout",
  "me",
  "new",
  "org",
  "orgs",
  "organizations",
  "settings",
  "signin",
  "signup",
  "sign-in",
  "sign-up",
  "static",
  "assets",
  "support",
  "system",
  "tollgate",
  "www",
  "v1",
  "healthz",
  "readyz",
  "metrics",
  "root",
  "null",
  "undefined",
]);

export const slugSchema = z
  .string()
  .min(3, "Slug must be at least 3 characters.")
  .max(48, "Slug must be at most 48 characters.")
  .regex(
    /^[a-z0-9]+(?:-[a-z0-9]+)*$/,
    "Slug may contain lowercase letters, digits and single hyphens, and must start and end with a letter or digit.",
  )
  .refine((s) => !RESERVED_SLUGS.has(s), "This slug is reserved.");

const name = nameField;
const description = z.string().trim().max(1000, "Description must be at most 1000 characters.");

export const createOrgBody = z.strictObject({ name, description: description.optional(), slug: slugSchema.optional() });
export const updateOrgBody = z
  .strictObject({ name: name.optional(), description: description.optional(), slug: slugSchema.optional() })
  .refine((b) => Object.keys(b).length > 0, "Send at least one of name, description, slug.");
export const deleteOrgBody = z.strictObject({ confirm: z.string().describe("The organization's slug, typed again.") });
export const transferBody = z.strictObject({ userId: z.string().min(1).max(200) });
export const twoFactorRequirementBody = z.strictObject({
  required: z.boolean().describe("Refuse members without two-factor authentication on this organization's routes."),
});

export const orgResponse = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  personal: z.boolean(),
  requireTwoFactor: z.boolean(),
  requireSso: z.boolean(),
  role: z.enum(ROLES),
  createdAt: z.string(),
  updatedAt: z.string(),
});
