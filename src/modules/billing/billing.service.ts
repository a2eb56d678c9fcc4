/**
 * Billing reads (owner, admin) and operator grants. Every service method
 * starts with its permission check; the grant is an operator action (CLI) and
 * has no HTTP route. Balances shown are the ledger balance minus charges
 * settled but not yet flushed (at most about a second old).
 */
import type { OrgContext } from "../../platform/auth/guard.js";
import { type AuditActor, SYSTEM_ACTOR } from "../../platform/audit.js";
import { monthStart } from "../../platform/calendar.js";
import { newId } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { MoneyFormatError, parseUsd } from "../../platform/money.js";
import { moneyValues } from "../../platform/money-fields.js";
import { assertCan } from "../../platform/permissions.js";
import * as repo from "./billing.repo.js";
import type { LedgerKind, UsageGroup } from "./billing.schema.js";
import * as groups from "./billing.usage-groups.js";

export interface BillingLive {
  snapshot(orgId: string): Promise<{ committedMicroUsd: bigint; unflushedMicroUsd: bigint; reservedMicroUsd: bigint }>;
  invalidate(orgId: string): void;
}

const SUM_COLUMNS = ["requests", "inputTokens", "cachedInputTokens", "outputTokens", "costUsd", "costMicroUsd"];
const CSV_COLUMNS = ["day", "projectSlug", "projectId", "model", "keyId", ...SUM_COLUMNS];
const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? "" : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** The report grouped by one dimension; totals are the period's usage (rows by tag may add up to more). */
async function groupedUsage(db: Db, orgId: string, from: Date, to: Date, groupBy: UsageGroup) {
  const [rows, totals] = await Promise.all([
    groups.usageByGroup(db, orgId, from, to, groupBy),
    groups.usageTotals(db, orgId, from, to),
  ]);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    groupBy,
    rows: rows.map((r) => ({
      value: r.value,
      label: r.label,
      requests: Number(r.requests),
      inputTokens: r.inputTokens,
      cachedInputTokens: r.cachedInputTokens,
      outputTokens: r.outputTokens,
      ...moneyValues("cost", BigInt(r.costMicroUsd)),
    })),
    totals: {
      requests: Number(totals.requests),
      inputTokens: totals.inputTokens,
      cachedInputTokens: totals.cachedInputTokens,
      outputTokens: totals.outputTokens,
      ...moneyValues("cost", BigInt(totals.costMicroUsd)),
    },
  };
}

/** Operator grant (CLI `tollgate credits grant`): a ledger entry and an audit row in one transaction. */
export async function grantCredits(
  db: Db,
  input: { orgSlug: string; usd: string; note: string; idempotencyKey?: string; actor?: AuditActor },
) {
  const org = await repo.orgBySlug(db, input.orgSlug);
  if (!org) throw appError("ORG_NOT_FOUND", `No organization with slug "${input.orgSlug}".`);
  let amount: bigint;
  try {
    amount = parseUsd(input.usd);
  } catch (err) {
    if (err instanceof MoneyFormatError) throw appError("INVALID_AMOUNT", err.message);
    throw err;
  }
  if (amount <= 0n) throw appError("INVALID_AMOUNT", "A grant must be a positive amount.");
  const note = input.note.trim();
  if (!note) throw appError("NOTE_REQUIRED");
  const res = await repo.postLedgerEntry(db, {
    orgId: org.id,
    kind: "grant",
    amountMicroUsd: amount,
    idempotencyKey: input.idempotencyKey ?? `grant:${newId()}`,
    note: note.slice(0, 500),
    actor: input.actor ?? SYSTEM_ACTOR,
  });
  return { orgId: org.id, orgSlug: org.slug, amountMicroUsd: amount, ...res };
}

export function createBillingService(deps: {
  db: Db;
  live: BillingLive;
  stripeConfigured: boolean;
  /** false with TOLLGATE_BILLING=off: no prepaid balance; usage and spend are still reported. */
  creditsEnabled: boolean;
}) {
  const { db } = deps;
  return {
    async summary(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      const since = monthStart();
      const [snap, flushedSpend] = await Promise.all([
        deps.live.snapshot(ctx.orgId),
        repo.orgSpendSince(db, ctx.orgId, since),
      ]);
      const balance = snap.committedMicroUsd - snap.unflushedMicroUsd;
      const available = balance - snap.reservedMicroUsd;
      return {
        ...moneyValues("balance", balance),
        ...moneyValues("reserved", snap.reservedMicroUsd),
        ...moneyValues("available", available > 0n ? available : 0n),
        ...moneyValues("monthSpend", flushedSpend + snap.unflushedMicroUsd),
        monthStart: since.toISOString(),
        creditsEnabled: deps.creditsEnabled,
        stripeConfigured: deps.stripeConfigured,
        addCredits: !deps.creditsEnabled
          ? "Prepaid credits are off on this instance (TOLLGATE_BILLING=off): requests need no balance; usage is still metered and project spend caps still apply."
          : deps.stripeConfigured
            ? "Add credits with a card on the billing page (Stripe Checkout)."
            : "Payments are not configured on this instance (no STRIPE_SECRET_KEY). Ask the instance operator to grant credits: tollgate credits grant --org <slug> --usd <amount> --note <text>.",
      };
    },

    async transactions(ctx: OrgContext, q: { limit: number; cursor?: string; kind?: LedgerKind }) {
      assertCan(ctx, "billing", "read");
      const rows = await repo.transactions(db, ctx.orgId, q);
      const page = rows.slice(0, q.limit);
      return {
        transactions: page.map((r) => ({
          id: r.id.toString(),
          kind: r.kind,
          ...moneyValues("amount", r.amountMicroUsd),
          projectId: r.projectId,
          periodStart: r.periodStart?.toISOString() ?? null,
          requests: r.requests,
          note: r.note,
          actor: { userId: r.actorUserId, email: r.actorEmail },
          createdAt: r.createdAt.toISOString(),
        })),
        nextCursor: rows.length > q.limit ? page[page.length - 1]!.id.toString() : null,
      };
    },

    /** Usage by day × project × model × key, or (`groupBy`) by that one dimension, with the period's totals. */
    async usage(ctx: OrgContext, q: { from?: string; to?: string; groupBy?: UsageGroup }) {
      assertCan(ctx, "billing", "read");
      const to = q.to ? new Date(q.to) : new Date(Date.now() + 3_600_000);
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
      if (from >= to) throw appError("INVALID_RANGE", "from must be before to.");
      if (to.getTime() - from.getTime() > 400 * 86_400_000)
        throw appError("INVALID_RANGE", "A usage report spans at most 400 days.");
      if (q.groupBy) return groupedUsage(db, ctx.orgId, from, to, q.groupBy);
      const rows = await repo.usageReport(db, ctx.orgId, from, to);
      const totals = { requests: 0, input: 0n, cached: 0n, output: 0n, cost: 0n };
      const out = rows.map((r) => {
        const cost = BigInt(r.costMicroUsd);
        totals.requests += Number(r.requests);
        totals.input += BigInt(r.inputTokens);
        totals.cached += BigInt(r.cachedInputTokens);
        totals.output += BigInt(r.outputTokens);
        totals.cost += cost;
        return {
          day: r.day,
          projectId: r.projectId,
          projectSlug: r.projectSlug,
          model: r.model,
          keyId: r.keyId,
          requests: Number(r.requests),
          inputTokens: r.inputTokens,
          cachedInputTokens: r.cachedInputTokens,
          outputTokens: r.outputTokens,
          ...moneyValues("cost", cost),
        };
      });
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        rows: out,
        totals: {
          requests: totals.requests,
          inputTokens: totals.input.toString(),
          cachedInputTokens: totals.cached.toString(),
          outputTokens: totals.output.toString(),
          ...moneyValues("cost", totals.cost),
        },
      };
    },

    /** The report as CSV: its rows, then a `total` line (the grouped columns: the dimension, its label, the sums). */
    usageCsv(report: {
      groupBy?: UsageGroup;
      rows: object[];
      totals: {
        requests: number;
        inputTokens: string;
        cachedInputTokens: string;
        outputTokens: string;
        costUsd: string;
        costMicroUsd: string;
      };
    }): string {
      const columns = report.groupBy ? ["value", "label", ...SUM_COLUMNS] : CSV_COLUMNS;
      const lines = [(report.groupBy ? [report.groupBy, "label", ...SUM_COLUMNS] : CSV_COLUMNS).join(",")];
      for (const r of report.rows) lines.push(columns.map((c) => csvCell((r as Record<string, unknown>)[c])).join(","));
      const t = report.totals;
      lines.push(
        [
          "total",
          ...Array.from({ length: columns.length - SUM_COLUMNS.length - 1 }, () => ""),
          t.requests,
          t.inputTokens,
          t.cachedInputTokens,
          t.outputTokens,
          t.costUsd,
          t.costMicroUsd,
        ]
          .map(csvCell)
          .join(","),
      );
      return `${lines.join("\n")}\n`;
    },
  };
}

export type BillingService = ReturnType<typeof createBillingService>;
