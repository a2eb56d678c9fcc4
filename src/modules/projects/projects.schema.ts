/**
 * Projects: an organization's AI applications (usually one per environment),
 * with the settings the gateway applies to every request made with their keys.
 * Invariants held by the database:
 *  - slug unique per organization (`projects_org_slug_uq`);
 *  - the spend cap is integer micro-USD (`bigint`), never a float;
 *  - an assignment references a membership (org_id, user_id) with ON DELETE
 *    CASCADE, so leaving or being removed from the organization drops every
 *    project assignment in the same statement.
 */
import {
  bigint,
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { moneyFields } from "../../platform/money-fields.js";
import { usdField } from "../../platform/money-input.js";
import { ROLES } from "../../platform/permissions.js";
import { nameField } from "../../platform/routes.js";
import { members, organizations, slugSchema } from "../organizations/organizations.schema.js";

export const PROJECT_ENVIRONMENTS = ["development", "staging", "production"] as const;
/** Response cache modes: off, or an exact match of the normalised request. */
export const CACHE_MODES = ["off", "exact"] as const;
/** The periods a spend budget counts over (a calendar day or month in UTC, or all time). */
export const BUDGET_PERIODS = ["day", "month", "total"] as const;

export const projects = pgTable(
  "projects",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    environment: text("environment", { enum: PROJECT_ENVIRONMENTS }).notNull().default("development"),
    defaultModel: text("default_model"),
    allowedModels: jsonb("allowed_models").$type<string[]>().notNull().default([]),
    /** Ordered provider/model targets tried when the requested model's provider fails before the first byte. */
    fallbackModels: jsonb("fallback_models").$type<string[]>().notNull().default([]),
    rateLimitRpm: integer("rate_limit_rpm"),
    rateLimitTpm: integer("rate_limit_tpm"),
    keyRateLimitRpm: integer("key_rate_limit_rpm"),
    keyRateLimitTpm: integer("key_rate_limit_tpm"),
    monthlySpendCapMicroUsd: bigint("monthly_spend_cap_micro_usd", { mode: "bigint" }),
    logBodies: boolean("log_bodies").notNull().default(false),
    /** Response cache: off, or exact-match answers kept `cacheTtlSeconds` (scoped to this project). */
    cacheMode: text("cache_mode", { enum: CACHE_MODES }).notNull().default("off"),
    cacheTtlSeconds: integer("cache_ttl_seconds").notNull().default(3600),
    /** A spend budget per end user (the request's `user`) over `endUserBudgetPeriod`; null: none. */
    endUserBudgetMicroUsd: bigint("end_user_budget_micro_usd", { mode: "bigint" }),
    endUserBudgetPeriod: text("end_user_budget_period", { enum: BUDGET_PERIODS }),
    /** Request logs older than this many days are deleted by the retention job (null: the instance default). */
    logRetentionDays: integer("log_retention_days"),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("projects_org_slug_uq").on(t.orgId, t.slug)],
);

export const projectMembers = pgTable(
  "project_members",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    orgId: text("org_id").notNull(),
    userId: text("user_id").notNull(),
    assignedBy: text("assigned_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "project_members_pk", columns: [t.projectId, t.userId] }),
    foreignKey({
      name: "project_members_membership_fk",
      columns: [t.orgId, t.userId],
      foreignColumns: [members.orgId, members.userId],
    }).onDelete("cascade"),
    index("project_members_org_user_idx").on(t.orgId, t.userId),
  ],
);

export type ProjectRow = typeof projects.$inferSelect;

// --- request bodies -----------------------------------------------------------

const name = nameField;
const description = z.string().trim().max(1000, "Description must be at most 1000 characters.");
/** `provider/model` or a bare catalog name; checked against the catalog by the gateway, not here. */
const modelId = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$/,
    "Model ids look like provider/model, e.g. openai/gpt-4o-mini (a provider/* wildcard is only accepted in allowedModels).",
  );
/**
 * An allowed-models entry: a model id, or `provider/*` for every model of one provider
 * (the router's rule). Only whole providers: a partial wildcard ("openai/gpt-*") would
 * read as a prefix match the router does not do.
 */
export const allowedModel = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^(?:[A-Za-z0-9][A-Za-z0-9._:@/+-]*|[a-z0-9]+(?:-[a-z0-9]+)*\/\*)$/,
    "Allowed models look like provider/model or provider/* for all of a provider's models, e.g. openai/gpt-4o-mini or openai/*.",
  );
const limit = z.number().int().min(1).max(1_000_000_000).nullable();
export const rateLimit = z
  .strictObject({
    rpm: limit.optional().describe("Requests per minute; null = no limit."),
    tpm: limit.optional().describe("Tokens per minute; null = no limit."),
  })
  .describe("Per-project limits; omitted fields stay as they are.");
const keyRateLimit = rateLimit.describe("Limits applied to each key of the project separately.");

const settingsFields = {
  environment: z.enum(PROJECT_ENVIRONMENTS).optional(),
  defaultModel: modelId.nullable().optional(),
  allowedModels: z
    .array(allowedModel)
    .max(200)
    .refine((a) => new Set(a).size === a.length, "allowedModels lists a model twice.")
    .optional()
    .describe(
      'Models keys of this project may call ("provider/model", or "provider/*" for all of a provider\'s models); empty = every model the organization can reach.',
    ),
  fallbackModels: z
    .array(modelId)
    .max(5)
    .refine((a) => new Set(a).size === a.length, "fallbackModels lists a model twice.")
    .optional()
    .describe("Ordered fallback chain: tried in turn when the model's provider fails before answering."),
  rateLimit: rateLimit.optional(),
  keyRateLimit: keyRateLimit.optional(),
  monthlySpendCapUsd: usdField({ max: "1000000000" })
    .nullable()
    .optional()
    .describe('Hard monthly spend limit in USD (decimal string, e.g. "250.00"); null = no cap.'),
  logBodies: z.boolean().optional().describe("Store prompt and response bodies in request logs (default false)."),
  cache: z
    .strictObject({
      mode: z.enum(CACHE_MODES).optional(),
      ttlSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 86_400)
        .optional()
        .describe("How long an answer is kept (default 3600)."),
    })
    .optional()
    .describe(
      'Response cache: "exact" answers a chat or embeddings request identical to an earlier one (same model, messages or inputs, and parameters) from the cache, without a provider call; "off" (default) never.',
    ),
  endUserBudgetUsd: usdField({ max: "1000000000" })
    .nullable()
    .optional()
    .describe(
      "A spend budget per end user (the request's `user`) in USD over endUserBudgetPeriod; requests without a user are not counted; null = none.",
    ),
  endUserBudgetPeriod: z
    .enum(BUDGET_PERIODS)
    .optional()
    .describe("What the end-user budget counts over: a UTC day, a UTC month (default) or all time."),
  logRetentionDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .nullable()
    .optional()
    .describe(
      "Delete this project's request logs after this many days; null = the instance default (TOLLGATE_LOG_RETENTION_DAYS).",
    ),
};

export const createProjectBody = z.strictObject({
  name,
  slug: slugSchema.optional(),
  description: description.optional(),
  ...settingsFields,
});
export const updateProjectBody = z
  .strictObject({
    name: name.optional(),
    slug: slugSchema.optional(),
    description: description.optional(),
    ...settingsFields,
  })
  .refine((b) => Object.keys(b).length > 0, "Send at least one field to change.");
export const deleteProjectBody = z.strictObject({ confirm: z.string().describe("The project's slug, typed again.") });
export const setProjectMembersBody = z.strictObject({
  userIds: z
    .array(z.string().min(1).max(200))
    .max(1000)
    .describe("The complete list of assigned members (replaces the current one)."),
  keepKeys: z
    .boolean()
    .optional()
    .describe("Keep the API keys of members who lose access to this project working (default: revoke them)."),
});

export type CreateProjectInput = z.output<typeof createProjectBody>;
export type UpdateProjectInput = z.output<typeof updateProjectBody>;

// --- responses ------------------------------------------------------------------

const limitsOut = z.object({ rpm: z.number().nullable(), tpm: z.number().nullable() });
export const projectResponse = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  environment: z.enum(PROJECT_ENVIRONMENTS),
  defaultModel: z.string().nullable(),
  allowedModels: z.array(z.string()),
  fallbackModels: z.array(z.string()),
  rateLimit: limitsOut,
  keyRateLimit: limitsOut,
  ...moneyFields("monthlySpendCap", { nullable: true }),
  logBodies: z.boolean(),
  cache: z.object({ mode: z.enum(CACHE_MODES), ttlSeconds: z.number().int() }),
  endUserBudget: z.object({ ...moneyFields("amount"), period: z.enum(BUDGET_PERIODS) }).nullable(),
  logRetentionDays: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const projectMemberResponse = z.object({
  userId: z.string(),
  name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  assignedAt: z.string(),
});
