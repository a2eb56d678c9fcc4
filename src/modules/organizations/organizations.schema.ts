/**
 * Organizations: the tenant boundary. Every other org-owned row references
 * `organizations.id` with ON DELETE CASCADE, so deleting an organization removes
 * everything it owns in one statement.
 */
import { boolean, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { SINGLE_LINE, SINGLE_LINE_MESSAGE } from "../../platform/routes.js";

export const organizations = pgTable("organizations", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  personal: boolean("personal").notNull().default(false),
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

const name = z
  .string()
  .trim()
  .min(1, "Name is required.")
  .max(100, "Name must be at most 100 characters.")
  .regex(SINGLE_LINE, SINGLE_LINE_MESSAGE);
const description = z.string().trim().max(1000, "Description must be at most 1000 characters.");

export const createOrgBody = z.strictObject({ name, description: description.optional(), slug: slugSchema.optional() });
export const updateOrgBody = z
  .strictObject({ name: name.optional(), description: description.optional(), slug: slugSchema.optional() })
  .refine((b) => Object.keys(b).length > 0, "Send at least one of name, description, slug.");
export const deleteOrgBody = z.strictObject({ confirm: z.string().describe("The organization's slug, typed again.") });
export const transferBody = z.strictObject({ userId: z.string().min(1).max(200) });

export const orgResponse = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  personal: z.boolean(),
  role: z.enum(["owner", "admin", "member"]),
  createdAt: z.string(),
  updatedAt: z.string(),
});
