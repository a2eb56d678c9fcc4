/**
 * Shared security policies: the org's policy, each project's
 * override (only what it tightens), and the incident trail.
 * Invariants:
 *  - stored policies are always the output of the library's strict schemas
 *    (orgPolicySchema / projectOverrideSchema): validated on write, parsed
 *    again on read so a row written by an older version gets today's defaults;
 *  - an org without a row has everything off (DEFAULT_POLICY is the recommended
 *    starting point, applied only when an admin PUTs it); a project without a row has no override;
 *  - an incident never holds the raw matched value, only the masked excerpt
 *    the scanner produced;
 *  - rows belong to their org (and project): deleting either removes them.
 */
import { index, jsonb, pgTable, real, text, timestamp } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { organizations } from "../organizations/organizations.schema.js";
import { projects } from "../projects/projects.schema.js";
import { PII_TYPES } from "../../gateway/security/types.js";

export const orgSecurityPolicies = pgTable("org_security_policies", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  policy: jsonb("policy").notNull(),
  updatedBy: text("updated_by").references(() => users.id, { onDelete: "set null" }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const projectSecurityPolicies = pgTable("project_security_policies", {
  projectId: text("project_id")
    .primaryKey()
    .references(() => projects.id, { onDelete: "cascade" }),
  orgId: text("org_id")
    .notNull()
    .references(() => organizations.id, { onDelete: "cascade" }),
  override: jsonb("override").notNull(),
  updatedBy: text("updated_by").references(() => users.id, { onDelete: "set null" }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const INCIDENT_ACTIONS = ["log", "mask", "redact", "block"] as const;
export const SEVERITIES = ["low", "medium", "high", "critical"] as const;

export const securityIncidents = pgTable(
  "security_incidents",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    keyId: text("key_id").notNull(),
    requestId: text("request_id").notNull(),
    direction: text("direction", { enum: ["input", "output"] }).notNull(),
    category: text("category", { enum: ["pii", "injection", "rule"] }).notNull(),
    /** PII type, "prompt_injection", or the rule type ("keyword" | "regex"). */
    type: text("type").notNull(),
    subtype: text("subtype"),
    ruleName: text("rule_name"),
    ruleCategory: text("rule_category"),
    action: text("action", { enum: INCIDENT_ACTIONS }).notNull(),
    severity: text("severity", { enum: SEVERITIES }).notNull(),
    /** Masked by the scanner: never the raw value. */
    excerpt: text("excerpt").notNull(),
    score: real("score"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    reviewedAt: timestamp("reviewed_at", { withTimezone: true }),
    reviewedBy: text("reviewed_by").references(() => users.id, { onDelete: "set null" }),
    reviewNote: text("review_note"),
  },
  (t) => [
    index("security_incidents_org_time_idx").on(t.orgId, t.createdAt, t.id),
    index("security_incidents_project_time_idx").on(t.projectId, t.createdAt, t.id),
    index("security_incidents_org_request_idx").on(t.orgId, t.requestId),
  ],
);

// ---- API shapes -----------------------------------------------------------

const actionOut = z.enum(["off", "log", "mask", "redact", "block"]);
const ruleOut = z.object({
  name: z.string(),
  type: z.enum(["keyword", "regex"]),
  pattern: z.string(),
  action: z.enum(INCIDENT_ACTIONS),
  category: z.string().optional(),
  caseSensitive: z.boolean().optional(),
  wholeWord: z.boolean().optional(),
});
const piiOut = z.object(
  Object.fromEntries(PII_TYPES.map((t) => [t, actionOut])) as Record<(typeof PII_TYPES)[number], typeof actionOut>,
);

export const orgPolicyOut = z.object({
  pii: piiOut,
  promptInjection: z.object({ action: z.enum(["off", "log", "block"]), threshold: z.number().optional() }),
  rules: z.array(ruleOut),
  restoreRedactions: z.boolean(),
});

export const overrideOut = z.object({
  pii: piiOut.partial().optional(),
  promptInjection: z
    .object({ action: z.enum(["off", "log", "block"]).optional(), threshold: z.number().optional() })
    .optional(),
  rules: z.array(ruleOut).optional(),
  restoreRedactions: z.boolean().optional(),
});

export const effectivePolicyOut = z.object({
  pii: piiOut,
  promptInjection: z.object({ action: z.enum(["off", "log", "block"]), threshold: z.number() }),
  rules: z.array(ruleOut.extend({ source: z.enum(["org", "project"]) })),
  restoreRedactions: z.boolean(),
});

export const projectPolicyOut = z.object({ override: overrideOut, effective: effectivePolicyOut });

export const incidentsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  project: z.string().min(1).max(64).optional().describe("Project slug"),
  type: z.string().min(1).max(64).optional().describe('PII type, "prompt_injection", "keyword" or "regex"'),
  action: z.enum(INCIDENT_ACTIONS).optional(),
  severity: z.enum(SEVERITIES).optional(),
  direction: z.enum(["input", "output"]).optional(),
  reviewed: z.enum(["true", "false"]).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  requestId: z.string().min(1).max(100).optional(),
});
export type IncidentsQuery = z.infer<typeof incidentsQuery>;

export const reviewBody = z.strictObject({ note: z.string().trim().max(2000).optional() });

export const incidentOut = z.object({
  id: z.string(),
  createdAt: z.string(),
  project: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
  keyId: z.string(),
  requestId: z.string(),
  direction: z.enum(["input", "output"]),
  category: z.enum(["pii", "injection", "rule"]),
  type: z.string(),
  subtype: z.string().nullable(),
  ruleName: z.string().nullable(),
  ruleCategory: z.string().nullable(),
  action: z.enum(INCIDENT_ACTIONS),
  severity: z.enum(SEVERITIES),
  excerpt: z.string(),
  score: z.number().nullable(),
  reviewed: z.boolean(),
  reviewedAt: z.string().nullable(),
  reviewedBy: z.object({ id: z.string(), email: z.string() }).nullable(),
  reviewNote: z.string().nullable(),
});
