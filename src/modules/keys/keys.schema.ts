/**
 * Project API keys. A row holds the key's SHA-256 (`digest`, unique) and a
 * display hint — never the key. Keys are revoked, not deleted, so lists and the
 * audit trail keep showing who had which key; deleting the project or the
 * organization deletes its keys (ON DELETE CASCADE) and the services drop them
 * from the gateway's cache after commit.
 */
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { moneyFields } from "../../platform/money-fields.js";
import { usdField } from "../../platform/money-input.js";
import { nameField } from "../../platform/routes.js";
import { organizations } from "../organizations/organizations.schema.js";
import { allowedModel, BUDGET_PERIODS, projects, rateLimit } from "../projects/projects.schema.js";
import { KEY_ENVIRONMENTS } from "./key-format.js";

export const REVOKE_REASONS = ["revoked", "member_removed", "project_access_removed"] as const;
export type RevokeReason = (typeof REVOKE_REASONS)[number];

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    environment: text("environment", { enum: KEY_ENVIRONMENTS }).notNull(),
    digest: text("digest").notNull(),
    hint: text("hint").notNull(),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedBy: text("revoked_by").references(() => users.id, { onDelete: "set null" }),
    revokedReason: text("revoked_reason", { enum: REVOKE_REASONS }),
    /** The key's own spend budget over `budgetPeriod` (held like a project cap); null: none. */
    budgetMicroUsd: bigint("budget_micro_usd", { mode: "bigint" }),
    budgetPeriod: text("budget_period", { enum: BUDGET_PERIODS }),
    /** Models this key may use within the project's (same syntax); null: the project's. */
    allowedModels: jsonb("allowed_models").$type<string[]>(),
    /** The key's own limits (requests and tokens per minute); null: the project's per-key limits. */
    rateLimitRpm: integer("rate_limit_rpm"),
    rateLimitTpm: integer("rate_limit_tpm"),
  },
  (t) => [
    uniqueIndex("api_keys_digest_uq").on(t.digest),
    index("api_keys_project_idx").on(t.orgId, t.projectId, t.createdAt),
    index("api_keys_creator_idx").on(t.orgId, t.createdBy),
  ],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export const MAX_ACTIVE_KEYS_PER_PROJECT = 500;

/** What a key may do beyond its project's settings (each only narrows them). */
const keyControls = {
  allowedModels: z
    .array(allowedModel)
    .max(200)
    .refine((a) => new Set(a).size === a.length, "allowedModels lists a model twice.")
    .nullable()
    .optional()
    .describe(
      "Models this key may use, within the project's (same syntax: provider/model or provider/*); null = the project's.",
    ),
  rateLimit: rateLimit
    .optional()
    .describe("This key's own limits in place of the project's per-key limits; null fields = the project's."),
  budgetUsd: usdField({ max: "1000000000" })
    .nullable()
    .optional()
    .describe(
      "This key's spend budget in USD (decimal string, e.g. \"25.00\") over budgetPeriod; held like the project's cap, across replicas; null = none.",
    ),
  budgetPeriod: z
    .enum(BUDGET_PERIODS)
    .optional()
    .describe("What the budget counts over: a UTC day, a UTC month (default) or all time."),
};

export const createKeyBody = z.strictObject({
  name: nameField,
  environment: z
    .enum(KEY_ENVIRONMENTS)
    .describe(
      "live: any model the project allows. test: only free models and the organization's own providers (never a billed built-in model), billed and capped like live keys, with lower rate limits.",
    ),
  expiresAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("When the key stops working (ISO 8601); omitted = never."),
  ...keyControls,
});
export const updateKeyBody = z
  .strictObject({ name: nameField.optional(), ...keyControls })
  .refine((b) => Object.keys(b).length > 0, "Send at least one field to change.");
export type KeyControlsInput = Pick<
  z.output<typeof updateKeyBody>,
  "allowedModels" | "rateLimit" | "budgetUsd" | "budgetPeriod"
>;

export const keyResponse = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  environment: z.enum(KEY_ENVIRONMENTS),
  hint: z.string().describe("Prefix and last 4 characters, e.g. tg_live_…AbCd."),
  status: z.enum(["active", "expired", "revoked"]),
  createdBy: z.object({ userId: z.string().nullable(), email: z.string().nullable() }),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  revokedReason: z.enum(REVOKE_REASONS).nullable(),
  allowedModels: z.array(z.string()).nullable().describe("The key's own allowed models; null = the project's."),
  rateLimit: z
    .object({ rpm: z.number().nullable(), tpm: z.number().nullable() })
    .describe("The key's own limits; null = the project's per-key limit."),
  budget: z
    .object({
      ...moneyFields("amount"),
      period: z.enum(BUDGET_PERIODS),
      ...moneyFields("spent"),
    })
    .nullable()
    .describe("The key's budget and what it has spent in the current period (charges in the ledger); null = none."),
});

export const createdKeyResponse = keyResponse.extend({
  key: z.string().describe("The full API key. Shown once: store it now; Tollgate keeps only its SHA-256."),
});
