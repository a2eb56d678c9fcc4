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
import { bigint, bigserial, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";

export const LEDGER_KINDS = ["topup", "grant", "usage", "refund", "adjustment"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export const billingAccounts = pgTable("billing_accounts", {
  orgId: text("org_id").primaryKey(),
  balanceMicroUsd: bigint("balance_micro_usd", { mode: "bigint" }).notNull().default(sql`0`),
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

const money = (name: string) => ({ [`${name}MicroUsd`]: z.string(), [`${name}Usd`]: z.string() });

export const billingOut = z.object({
  ...money("balance"),
  ...money("reserved"),
  ...money("available"),
  ...money("monthSpend"),
  monthStart: z.string(),
  stripeConfigured: z.boolean(),
  addCredits: z.string().describe("How credits are added on this instance."),
});

export const transactionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d{1,19}$/).optional(),
  kind: z.enum(LEDGER_KINDS).optional(),
});

export const transactionOut = z.object({
  id: z.string(),
  kind: z.enum(LEDGER_KINDS),
  ...money("amount"),
  projectId: z.string().nullable(),
  periodStart: z.string().nullable(),
  requests: z.number().nullable(),
  note: z.string(),
  actor: z.object({ userId: z.string().nullable(), email: z.string().nullable() }),
  createdAt: z.string(),
});

export const usageReportQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
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
  ...money("cost"),
});

export const usageReportOut = z.object({
  from: z.string(),
  to: z.string(),
  rows: z.array(usageReportRow),
  totals: z.object({ requests: z.number(), inputTokens: z.string(), cachedInputTokens: z.string(), outputTokens: z.string(), ...money("cost") }),
});
