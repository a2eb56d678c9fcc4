/**
 * Billing tables. Invariants held by the database:
 *  - `ledger_entries` is append-only (triggers refuse UPDATE, DELETE and
 *    TRUNCATE); every change of an organization's money is one row;
 *  - `billing_accounts.balance_micro_usd` is maintained by an AFTER INSERT
 *    trigger on the ledger, in the same transaction, so the cached balance
 *    equals SUM(ledger) at every commit (`tollgate billing verify` proves it);
 *  - `idempotency_key` is unique: a grant or payment event credited twice is
 *    refused by the database, not by a check-then-insert;
 *  - neither table has a foreign key to organizations: the money trail of a
 *    deleted organization stays for the operator, like the audit log.
 * Usage is charged in aggregate: one ledger row per project per hour per
 * flush (not per request); per-request cost lives on the request log, and
 * `billing_usage_hourly` keeps the day × project × model × key report.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { z } from "zod";
import { moneyFields } from "../../platform/money-fields.js";

export const LEDGER_KINDS = ["topup", "grant", "usage", "refund", "adjustment"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export const billingAccounts = pgTable("billing_accounts", {
  orgId: text("org_id").primaryKey(),
  balanceMicroUsd: bigint("balance_micro_usd", { mode: "bigint" }).notNull().default(sql`0`),
  /** Sum of all usage charged (positive), kept by the same trigger: balance + usage = every credit ever posted. */
  usageMicroUsd: bigint("usage_micro_usd", { mode: "bigint" }).notNull().default(sql`0`),
  /** Bumped by every non-usage ledger row (top-up, grant, refund, adjustment): the "credit version" of the account. */
  creditSeq: bigint("credit_seq", { mode: "bigint" }).notNull().default(sql`0`),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    orgId: text("org_id").notNull(),
    kind: text("kind", { enum: LEDGER_KINDS }).notNull(),
    /** Signed: credits positive, usage negative. */
    amountMicroUsd: bigint("amount_micro_usd", { mode: "bigint" }).notNull(),
    /** Usage rows: the project and the hour they aggregate. */
    projectId: text("project_id"),
    periodStart: timestamp("period_start", { withTimezone: true }),
    requests: integer("requests"),
    note: text("note").notNull().default(""),
    /** e.g. `grant:<uuid>`, `stripe:<event id>`; null for usage rows. */
    idempotencyKey: text("idempotency_key"),
    actorUserId: text("actor_user_id"),
    actorEmail: text("actor_email"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("ledger_entries_org_id_idx").on(t.orgId, t.id),
    uniqueIndex("ledger_entries_idempotency_uq").on(t.idempotencyKey),
  ],
);

export const billingUsageHourly = pgTable(
  "billing_usage_hourly",
  {
    orgId: text("org_id").notNull(),
    projectId: text("project_id").notNull(),
    keyId: text("key_id").notNull(),
    model: text("model").notNull(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    requests: integer("requests").notNull().default(0),
    inputTokens: bigint("input_tokens", { mode: "bigint" }).notNull().default(sql`0`),
    cachedInputTokens: bigint("cached_input_tokens", { mode: "bigint" }).notNull().default(sql`0`),
    outputTokens: bigint("output_tokens", { mode: "bigint" }).notNull().default(sql`0`),
    costMicroUsd: bigint("cost_micro_usd", { mode: "bigint" }).notNull().default(sql`0`),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.projectId, t.keyId, t.model, t.hour] }),
    index("billing_usage_hourly_org_hour_idx").on(t.orgId, t.hour),
    index("billing_usage_hourly_project_hour_idx").on(t.projectId, t.hour),
  ],
);

/** The dimensions usage is also reported by: the request's tags (`x-tollgate-tags`) and its end user (`user`). */
export const USAGE_DIMS = ["tag", "user"] as const;

/**
 * Usage per tag and per end user, hour by hour, written with the key × model rows (the same charges).
 * A request without one counts under the empty value, so each dimension's rows sum to the ledger's
 * usage; a request with several tags counts under each of them.
 */
export const billingUsageDimsHourly = pgTable(
  "billing_usage_dims_hourly",
  {
    orgId: text("org_id").notNull(),
    projectId: text("project_id").notNull(),
    dim: text("dim", { enum: USAGE_DIMS }).notNull(),
    value: text("value").notNull(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    requests: integer("requests").notNull().default(0),
    inputTokens: bigint("input_tokens", { mode: "bigint" }).notNull().default(sql`0`),
    cachedInputTokens: bigint("cached_input_tokens", { mode: "bigint" }).notNull().default(sql`0`),
    outputTokens: bigint("output_tokens", { mode: "bigint" }).notNull().default(sql`0`),
    costMicroUsd: bigint("cost_micro_usd", { mode: "bigint" }).notNull().default(sql`0`),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.projectId, t.dim, t.value, t.hour] }),
    index("billing_usage_dims_hourly_org_hour_idx").on(t.orgId, t.dim, t.hour),
  ],
);

/**
 * Usage batches already posted to the ledger. With Redis, settled charges
 * wait in a shared queue and any replica may post a batch — a batch retried
 * after a crash is recognised here and posted once.
 */
export const billingUsageBatches = pgTable("billing_usage_batches", {
  id: text("id").primaryKey(),
  rows: integer("rows").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Per-organization billing settings: auto top-up and alerts (one row, created on first save). */
export const billingSettings = pgTable("billing_settings", {
  orgId: text("org_id").primaryKey(),
  autoTopupEnabled: boolean("auto_topup_enabled").notNull().default(false),
  /** When the balance falls below this… */
  autoTopupThresholdMicroUsd: bigint("auto_topup_threshold_micro_usd", { mode: "bigint" }),
  /** …charge the default payment method this much. */
  autoTopupAmountMicroUsd: bigint("auto_topup_amount_micro_usd", { mode: "bigint" }),
  /** Alert when the balance falls below this (null: off). */
  lowBalanceAlertMicroUsd: bigint("low_balance_alert_micro_usd", { mode: "bigint" }),
  /** Monthly budget: alerts at 50/80/100 % of it (null: off). */
  monthlyBudgetMicroUsd: bigint("monthly_budget_micro_usd", { mode: "bigint" }),
  /** Optional webhook for alerts; the signing secret is encrypted at rest (secretbox) and shown once. */
  alertWebhookUrl: text("alert_webhook_url"),
  alertWebhookSecretCiphertext: text("alert_webhook_secret_ciphertext"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Admins who opted in to billing alert emails (the owner always gets them). */
export const billingAlertSubscribers = pgTable(
  "billing_alert_subscribers",
  {
    orgId: text("org_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] })],
);

/**
 * "Fire once per crossing": a row per (org, event, period). The insert that
 * wins the primary key fires the alert or the auto top-up; every other
 * replica's insert does nothing. `period` is the month ("2026-11") for budget
 * alerts and the account's credit_seq for balance events, so a top-up re-arms them.
 */
export const billingEventsFired = pgTable(
  "billing_events_fired",
  {
    orgId: text("org_id").notNull(),
    event: text("event").notNull(),
    period: text("period").notNull(),
    firedAt: timestamp("fired_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.event, t.period] })],
);

/** Stripe customer of an organization (created on its first checkout). */
export const billingCustomers = pgTable("billing_customers", {
  orgId: text("org_id").primaryKey(),
  stripeCustomerId: text("stripe_customer_id").notNull().unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Checkout sessions and off-session charges (auto top-up) started by Tollgate. */
export const billingPayments = pgTable(
  "billing_payments",
  {
    /** Stripe Checkout Session id (cs_…) or PaymentIntent id (pi_…). */
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    kind: text("kind", { enum: ["checkout", "auto_topup"] }).notNull(),
    amountMicroUsd: bigint("amount_micro_usd", { mode: "bigint" }).notNull(),
    /** open | paid | expired | failed | refunded (partially or fully: see refunded_micro_usd) */
    status: text("status").notNull(),
    paymentIntentId: text("payment_intent_id"),
    refundedMicroUsd: bigint("refunded_micro_usd", { mode: "bigint" }).notNull().default(sql`0`),
    createdByUserId: text("created_by_user_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("billing_payments_org_idx").on(t.orgId, t.createdAt),
    index("billing_payments_pi_idx").on(t.paymentIntentId),
  ],
);

/** Stripe webhook events received (idempotency by event id; the ledger's idempotency keys guard the money). */
export const stripeEvents = pgTable("stripe_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  processedAt: timestamp("processed_at", { withTimezone: true }),
});

export const billingOut = z.object({
  ...moneyFields("balance"),
  ...moneyFields("reserved"),
  ...moneyFields("available"),
  ...moneyFields("monthSpend"),
  monthStart: z.string(),
  creditsEnabled: z
    .boolean()
    .describe(
      "false when the instance runs without prepaid credits (TOLLGATE_BILLING=off): requests need no balance (the balance fields are then not meaningful); usage is metered and project spend caps apply.",
    ),
  stripeConfigured: z.boolean(),
  addCredits: z.string().describe("How credits are added on this instance (or that prepaid credits are off)."),
});

export const transactionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
  kind: z.enum(LEDGER_KINDS).optional(),
});

export const transactionOut = z.object({
  id: z.string(),
  kind: z.enum(LEDGER_KINDS),
  ...moneyFields("amount"),
  projectId: z.string().nullable(),
  periodStart: z.string().nullable(),
  requests: z.number().nullable(),
  note: z.string(),
  actor: z.object({ userId: z.string().nullable(), email: z.string().nullable() }),
  createdAt: z.string(),
});

/** The one dimension a usage report may be grouped by. */
export const USAGE_GROUPS = ["day", "project", "model", "key", "tag", "user"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export const usageReportQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  groupBy: z
    .enum(USAGE_GROUPS)
    .optional()
    .describe(
      "One row per UTC day, project, model, key, tag (`x-tollgate-tags`) or end user (`user`); without it, one row per day × project × model × key.",
    ),
  format: z.enum(["json", "csv"]).default("json"),
});

export const usageReportRow = z.object({
  day: z.string(),
  projectId: z.string(),
  projectSlug: z.string().nullable(),
  model: z.string(),
  keyId: z.string(),
  requests: z.number(),
  inputTokens: z.string(),
  cachedInputTokens: z.string(),
  outputTokens: z.string(),
  ...moneyFields("cost"),
});

const usageTotals = z.object({
  requests: z.number(),
  inputTokens: z.string(),
  cachedInputTokens: z.string(),
  outputTokens: z.string(),
  ...moneyFields("cost"),
});

export const usageReportOut = z.object({
  from: z.string(),
  to: z.string(),
  rows: z.array(usageReportRow),
  totals: usageTotals,
});

export const usageGroupRow = z.object({
  value: z
    .string()
    .describe(
      'The day (YYYY-MM-DD), project id, model, key id, tag or end user; "" gathers the requests without a tag / end user.',
    ),
  label: z.string().nullable().describe("The project's slug or the key's name; null for the other groupings."),
  requests: z.number(),
  inputTokens: z.string(),
  cachedInputTokens: z.string(),
  outputTokens: z.string(),
  ...moneyFields("cost"),
});

export const usageGroupedOut = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.enum(USAGE_GROUPS),
  rows: z.array(usageGroupRow),
  totals: usageTotals.describe(
    "The period's usage, as charged to the ledger. Rows by tag add up to more when requests carry several tags (each counts under every one of its tags).",
  ),
});
