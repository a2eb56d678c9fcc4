/**
 * Billing SQL, always scoped by organization. The ledger is only ever
 * inserted into; the balance follows through the ledger's trigger (migration
 * 0007), so no code path writes `billing_accounts` directly.
 */
import { and, asc, desc, eq, gte, inArray, lt, sql, type SQL } from "drizzle-orm";
import { recordAudit, type AuditActor } from "../../platform/audit.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { moneyValues } from "../../platform/money-fields.js";
import { organizations } from "../organizations/organizations.schema.js";
import { projects } from "../projects/projects.schema.js";
import {
  billingAccounts,
  billingUsageBatches,
  billingUsageDimsHourly,
  billingUsageHourly,
  type LedgerKind,
  ledgerEntries,
} from "./billing.schema.js";
import { type UsageDebit, upsertUsageDims } from "./billing.usage-dims.js";

export type { UsageDebit };

export interface LedgerPosting {
  orgId: string;
  kind: Exclude<LedgerKind, "usage">;
  /** Signed micro-USD: credits positive, refunds/debit adjustments negative. */
  amountMicroUsd: bigint;
  /** Unique across the ledger (e.g. `stripe:evt_…`, `grant:<uuid>`): a second posting with it is a no-op. */
  idempotencyKey: string;
  note: string;
  actor: AuditActor;
  /** Extra audit metadata (ids only, never a secret). */
  auditMetadata?: Record<string, unknown>;
}

export interface PostingResult {
  entryId: string;
  /** True when the idempotency key was already used: nothing was written. */
  duplicate: boolean;
  balanceMicroUsd: bigint;
}

export async function balanceOf(db: DbOrTx, orgId: string): Promise<bigint> {
  const [row] = await db
    .select({ b: billingAccounts.balanceMicroUsd })
    .from(billingAccounts)
    .where(eq(billingAccounts.orgId, orgId));
  return row?.b ?? 0n;
}

/**
 * One credit/debit ledger entry plus its audit row, in the caller's transaction
 * when given one (so e.g. a webhook's event row commits with its credit).
 */
export async function postLedgerEntry(db: DbOrTx, p: LedgerPosting): Promise<PostingResult> {
  if (p.amountMicroUsd === 0n) throw new Error("A ledger entry must move money.");
  const run = async (tx: DbOrTx): Promise<PostingResult> => {
    const inserted = await tx
      .insert(ledgerEntries)
      .values({
        orgId: p.orgId,
        kind: p.kind,
        amountMicroUsd: p.amountMicroUsd,
        note: p.note,
        idempotencyKey: p.idempotencyKey,
        actorUserId: p.actor.userId,
        actorEmail: p.actor.email,
      })
      .onConflictDoNothing({ target: ledgerEntries.idempotencyKey })
      .returning({ id: ledgerEntries.id });
    if (inserted.length === 0) {
      const [existing] = await tx
        .select({ id: ledgerEntries.id, orgId: ledgerEntries.orgId })
        .from(ledgerEntries)
        .where(eq(ledgerEntries.idempotencyKey, p.idempotencyKey));
      if (existing && existing.orgId !== p.orgId)
        throw new Error("Idempotency key already used by another organization.");
      return { entryId: existing!.id.toString(), duplicate: true, balanceMicroUsd: await balanceOf(tx, p.orgId) };
    }
    const entryId = inserted[0]!.id.toString();
    await recordAudit(tx, p.actor, {
      orgId: p.orgId,
      action: `billing.${p.kind}`,
      targetType: "ledger_entry",
      targetId: entryId,
      metadata: {
        ...moneyValues("amount", p.amountMicroUsd),
        note: p.note,
        ...p.auditMetadata,
      },
    });
    return { entryId, duplicate: false, balanceMicroUsd: await balanceOf(tx, p.orgId) };
  };
  // On a transaction this is a savepoint: the posting commits or rolls back with the caller's work.
  return (db as Db).transaction(run);
}

/** Writes a batch of settled usage in its own transaction; with a batch id, false when that batch was already posted. */
export async function writeUsage(db: Db, rows: UsageDebit[], batchId?: string): Promise<boolean> {
  if (rows.length === 0) return false;
  return db.transaction(async (tx) => {
    if (batchId && !(await claimUsageBatch(tx, batchId, rows.length))) return false;
    await writeUsageIn(tx, rows);
    return true;
  });
}

/**
 * A batch from the shared (Redis) queue is posted once, however often it is retried or by how many
 * replicas: its id is recorded in the posting transaction. False when it was posted already.
 */
export async function claimUsageBatch(tx: DbOrTx, batchId: string, rows: number): Promise<boolean> {
  const won = await tx
    .insert(billingUsageBatches)
    .values({ id: batchId, rows })
    .onConflictDoNothing()
    .returning({ id: billingUsageBatches.id });
  return won.length > 0;
}

/**
 * Writes settled usage in the caller's transaction: one ledger row per (org, project, hour), report rows
 * upserted per key × model, and per tag and end user (billing.usage-dims.ts).
 */
export async function writeUsageIn(tx: DbOrTx, rows: UsageDebit[]): Promise<void> {
  if (rows.length === 0) return;
  const report = new Map<string, UsageDebit>();
  const ledger = new Map<string, { orgId: string; projectId: string; hour: Date; amount: bigint; requests: number }>();
  for (const r of rows) {
    const rk = `${r.orgId}\u0000${r.projectId}\u0000${r.keyId}\u0000${r.model}\u0000${r.hour.getTime()}`;
    const prev = report.get(rk);
    if (prev) {
      prev.requests += r.requests;
      prev.inputTokens += r.inputTokens;
      prev.cachedInputTokens += r.cachedInputTokens;
      prev.outputTokens += r.outputTokens;
      prev.costMicroUsd += r.costMicroUsd;
    } else report.set(rk, { ...r });
    const lk = `${r.orgId}\u0000${r.projectId}\u0000${r.hour.getTime()}`;
    const l = ledger.get(lk) ?? { orgId: r.orgId, projectId: r.projectId, hour: r.hour, amount: 0n, requests: 0 };
    l.amount += r.costMicroUsd;
    l.requests += r.requests;
    ledger.set(lk, l);
  }
  // One lock order (org, project, key, model, hour) for the upserts: concurrent flushes from replicas cannot deadlock.
  const sorted = [...report.values()].sort(
    (a, b) =>
      (a.orgId + a.projectId + a.keyId + a.model).localeCompare(b.orgId + b.projectId + b.keyId + b.model) ||
      a.hour.getTime() - b.hour.getTime(),
  );
  await tx
    .insert(billingUsageHourly)
    .values(sorted)
    .onConflictDoUpdate({
      target: [
        billingUsageHourly.orgId,
        billingUsageHourly.projectId,
        billingUsageHourly.keyId,
        billingUsageHourly.model,
        billingUsageHourly.hour,
      ],
      set: {
        requests: sql`${billingUsageHourly.requests} + excluded.requests`,
        inputTokens: sql`${billingUsageHourly.inputTokens} + excluded.input_tokens`,
        cachedInputTokens: sql`${billingUsageHourly.cachedInputTokens} + excluded.cached_input_tokens`,
        outputTokens: sql`${billingUsageHourly.outputTokens} + excluded.output_tokens`,
        costMicroUsd: sql`${billingUsageHourly.costMicroUsd} + excluded.cost_micro_usd`,
      },
    });
  await upsertUsageDims(tx, rows);
  const charged = [...ledger.values()]
    .filter((l) => l.amount !== 0n)
    .sort((a, b) => a.orgId.localeCompare(b.orgId) || a.projectId.localeCompare(b.projectId));
  if (charged.length > 0) {
    await tx.insert(ledgerEntries).values(
      charged.map((l) => ({
        orgId: l.orgId,
        kind: "usage" as const,
        amountMicroUsd: -l.amount,
        projectId: l.projectId,
        periodStart: l.hour,
        requests: l.requests,
        note: "",
      })),
    );
  }
}

/** The account's totals for the shared (Redis) credit store: every credit ever posted, usage, and the credit version. */
export async function accountTotals(db: DbOrTx, orgId: string) {
  const [row] = await db
    .select({ b: billingAccounts.balanceMicroUsd, u: billingAccounts.usageMicroUsd, seq: billingAccounts.creditSeq })
    .from(billingAccounts)
    .where(eq(billingAccounts.orgId, orgId));
  return { creditsMicroUsd: (row?.b ?? 0n) + (row?.u ?? 0n), usageMicroUsd: row?.u ?? 0n, creditSeq: row?.seq ?? 0n };
}

/** Month-to-date charged spend of a project (flushed usage only). */
export async function projectSpendSince(db: DbOrTx, projectId: string, since: Date): Promise<bigint> {
  const [row] = await db
    .select({ s: sql<string>`coalesce(sum(${billingUsageHourly.costMicroUsd}), 0)::text` })
    .from(billingUsageHourly)
    .where(and(eq(billingUsageHourly.projectId, projectId), gte(billingUsageHourly.hour, since)));
  return BigInt(row?.s ?? "0");
}

/** A key's charged spend since `since` (flushed usage only). */
export const keySpendSince = async (db: DbOrTx, orgId: string, projectId: string, keyId: string, since: Date) =>
  (await keysSpendSince(db, orgId, projectId, [keyId], since)).get(keyId) ?? 0n;

/** Charged spend of each of a project's keys since `since` (flushed usage only); keys without any are absent. */
export async function keysSpendSince(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  keyIds: readonly string[],
  since: Date,
): Promise<Map<string, bigint>> {
  if (keyIds.length === 0) return new Map();
  const rows = await db
    .select({ k: billingUsageHourly.keyId, s: sql<string>`sum(${billingUsageHourly.costMicroUsd})::text` })
    .from(billingUsageHourly)
    .where(
      and(
        eq(billingUsageHourly.orgId, orgId),
        eq(billingUsageHourly.projectId, projectId),
        inArray(billingUsageHourly.keyId, [...keyIds]),
        gte(billingUsageHourly.hour, since),
      ),
    )
    .groupBy(billingUsageHourly.keyId);
  return new Map(rows.map((r) => [r.k, BigInt(r.s)]));
}

/** An end user's charged spend in a project since `since` (flushed usage only). */
export async function endUserSpendSince(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  user: string,
  since: Date,
): Promise<bigint> {
  const [row] = await db
    .select({ s: sql<string>`coalesce(sum(${billingUsageDimsHourly.costMicroUsd}), 0)::text` })
    .from(billingUsageDimsHourly)
    .where(
      and(
        eq(billingUsageDimsHourly.orgId, orgId),
        eq(billingUsageDimsHourly.projectId, projectId),
        eq(billingUsageDimsHourly.dim, "user"),
        eq(billingUsageDimsHourly.value, user),
        gte(billingUsageDimsHourly.hour, since),
      ),
    );
  return BigInt(row?.s ?? "0");
}

export async function orgSpendSince(db: DbOrTx, orgId: string, since: Date): Promise<bigint> {
  const [row] = await db
    .select({ s: sql<string>`coalesce(sum(${billingUsageHourly.costMicroUsd}), 0)::text` })
    .from(billingUsageHourly)
    .where(and(eq(billingUsageHourly.orgId, orgId), gte(billingUsageHourly.hour, since)));
  return BigInt(row?.s ?? "0");
}

export async function transactions(
  db: DbOrTx,
  orgId: string,
  q: { limit: number; cursor?: string; kind?: LedgerKind },
) {
  const where: SQL[] = [eq(ledgerEntries.orgId, orgId)];
  if (q.cursor) where.push(lt(ledgerEntries.id, BigInt(q.cursor)));
  if (q.kind) where.push(eq(ledgerEntries.kind, q.kind));
  return db
    .select()
    .from(ledgerEntries)
    .where(and(...where))
    .orderBy(desc(ledgerEntries.id))
    .limit(q.limit + 1);
}

export async function usageReport(db: DbOrTx, orgId: string, from: Date, to: Date) {
  const day = sql<string>`to_char(date_trunc('day', ${billingUsageHourly.hour} at time zone 'UTC'), 'YYYY-MM-DD')`;
  return db
    .select({
      day,
      projectId: billingUsageHourly.projectId,
      projectSlug: sql<string | null>`max(${projects.slug})`,
      model: billingUsageHourly.model,
      keyId: billingUsageHourly.keyId,
      requests: sql<number>`sum(${billingUsageHourly.requests})::int`,
      inputTokens: sql<string>`sum(${billingUsageHourly.inputTokens})::text`,
      cachedInputTokens: sql<string>`sum(${billingUsageHourly.cachedInputTokens})::text`,
      outputTokens: sql<string>`sum(${billingUsageHourly.outputTokens})::text`,
      costMicroUsd: sql<string>`sum(${billingUsageHourly.costMicroUsd})::text`,
    })
    .from(billingUsageHourly)
    .leftJoin(projects, and(eq(projects.id, billingUsageHourly.projectId), eq(projects.orgId, orgId)))
    .where(
      and(eq(billingUsageHourly.orgId, orgId), gte(billingUsageHourly.hour, from), lt(billingUsageHourly.hour, to)),
    )
    .groupBy(day, billingUsageHourly.projectId, billingUsageHourly.model, billingUsageHourly.keyId)
    .orderBy(asc(day), asc(billingUsageHourly.projectId), asc(billingUsageHourly.model), asc(billingUsageHourly.keyId));
}

export async function orgBySlug(db: DbOrTx, slug: string) {
  const [row] = await db
    .select({ id: organizations.id, slug: organizations.slug })
    .from(organizations)
    .where(eq(organizations.slug, slug));
  return row ?? null;
}

export interface VerifyRow {
  orgId: string;
  slug: string | null;
  balanceMicroUsd: bigint;
  ledgerSumMicroUsd: bigint;
  entries: number;
}

/** Cached balance vs SUM(ledger) for every organization that has either. */
export async function verifyBalances(db: DbOrTx): Promise<VerifyRow[]> {
  const res = (await db.execute(sql`
    with sums as (select org_id, sum(amount_micro_usd)::text as s, count(*)::int as n from ledger_entries group by org_id)
    select coalesce(a.org_id, s.org_id) as org_id, o.slug, coalesce(a.balance_micro_usd, 0)::text as balance, coalesce(s.s, '0') as sum, coalesce(s.n, 0) as n
    from billing_accounts a full outer join sums s on s.org_id = a.org_id
    left join organizations o on o.id = coalesce(a.org_id, s.org_id)
    order by 1`)) as unknown as {
    rows: Array<{ org_id: string; slug: string | null; balance: string; sum: string; n: number }>;
  };
  return res.rows.map((r) => ({
    orgId: r.org_id,
    slug: r.slug,
    balanceMicroUsd: BigInt(r.balance),
    ledgerSumMicroUsd: BigInt(r.sum),
    entries: Number(r.n),
  }));
}
