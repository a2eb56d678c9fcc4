/**
 * Usage by tag and by end user (`billing_usage_dims_hourly`), written with the
 * ledger rows and the key × model rows of the same debits, in the same
 * transaction (billing.repo.ts `writeUsageIn`). Per debit: one `user` row (its
 * end user, or "" without one) and one `tag` row per tag (or one "" row when it
 * has none), so each dimension's rows sum to the ledger's usage — a request
 * with several tags counts in full under each of them.
 */
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { billingUsageDimsHourly } from "./billing.schema.js";

/** A settled charge as the ledger's usage rows record it (one request's, or a batch's sum). */
export interface UsageDebit {
  orgId: string;
  projectId: string;
  keyId: string;
  model: string;
  hour: Date;
  requests: number;
  inputTokens: bigint;
  cachedInputTokens: bigint;
  outputTokens: bigint;
  costMicroUsd: bigint;
  /** The request's tags (usage by tag); none: counted under "". */
  tags?: readonly string[] | null;
  /** The request's end user (usage by end user); none: counted under "". */
  user?: string | null;
  /** The spend caps the charge counts against (this process's cap counters; never stored). */
  caps?: readonly string[];
}

type DimRow = typeof billingUsageDimsHourly.$inferInsert & {
  dim: "tag" | "user";
  requests: number;
  inputTokens: bigint;
  cachedInputTokens: bigint;
  outputTokens: bigint;
  costMicroUsd: bigint;
};

const UNTAGGED: readonly string[] = [""];
/** Rows per INSERT: 10 parameters a row, well under PostgreSQL's 65,535 whatever a batch holds. */
const CHUNK = 1_000;

/** The debits summed per (org, project, dimension, value, hour), in that order (the primary key's). */
function usageDimRows(debits: readonly UsageDebit[]): DimRow[] {
  const rows = new Map<string, DimRow>();
  const add = (d: UsageDebit, dim: "tag" | "user", value: string) => {
    const k = `${d.orgId}\u0000${d.projectId}\u0000${dim}\u0000${value}\u0000${d.hour.getTime()}`;
    const prev = rows.get(k);
    if (prev) {
      prev.requests += d.requests;
      prev.inputTokens += d.inputTokens;
      prev.cachedInputTokens += d.cachedInputTokens;
      prev.outputTokens += d.outputTokens;
      prev.costMicroUsd += d.costMicroUsd;
      return;
    }
    rows.set(k, {
      orgId: d.orgId,
      projectId: d.projectId,
      dim,
      value,
      hour: d.hour,
      requests: d.requests,
      inputTokens: d.inputTokens,
      cachedInputTokens: d.cachedInputTokens,
      outputTokens: d.outputTokens,
      costMicroUsd: d.costMicroUsd,
    });
  };
  for (const d of debits) {
    add(d, "user", d.user ?? "");
    for (const tag of d.tags?.length ? d.tags : UNTAGGED) add(d, "tag", tag);
  }
  // Code-unit order (never the locale's): every replica locks the same rows in the same order.
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows.values()].sort(
    (a, b) =>
      cmp(a.orgId, b.orgId) ||
      cmp(a.projectId, b.projectId) ||
      cmp(a.dim, b.dim) ||
      cmp(a.value, b.value) ||
      a.hour.getTime() - b.hour.getTime(),
  );
}

/**
 * Adds the debits to the usage by tag and by end user, in the caller's transaction. One lock order
 * (the primary key's, above) for every flush: concurrent flushes from replicas cannot deadlock.
 */
export async function upsertUsageDims(tx: DbOrTx, debits: readonly UsageDebit[]): Promise<void> {
  const rows = usageDimRows(debits);
  const t = billingUsageDimsHourly;
  for (let i = 0; i < rows.length; i += CHUNK)
    await tx
      .insert(t)
      .values(rows.slice(i, i + CHUNK))
      .onConflictDoUpdate({
        target: [t.orgId, t.projectId, t.dim, t.value, t.hour],
        set: {
          requests: sql`${t.requests} + excluded.requests`,
          inputTokens: sql`${t.inputTokens} + excluded.input_tokens`,
          cachedInputTokens: sql`${t.cachedInputTokens} + excluded.cached_input_tokens`,
          outputTokens: sql`${t.outputTokens} + excluded.output_tokens`,
          costMicroUsd: sql`${t.costMicroUsd} + excluded.cost_micro_usd`,
        },
      });
}
