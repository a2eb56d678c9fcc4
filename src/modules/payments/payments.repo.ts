/**
 * Payments SQL, always scoped by organization (webhooks resolve the
 * organization from our own payment rows, never from the event alone).
 * Money moves only through the ledger (billing.repo `postLedgerEntry`).
 */
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import {
  billingAccounts,
  billingCustomers,
  billingEventsFired,
  billingPayments,
  billingSettings,
  stripeEvents,
} from "../billing/billing.schema.js";

export type PaymentRow = typeof billingPayments.$inferSelect;

export async function customerOf(db: DbOrTx, orgId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: billingCustomers.stripeCustomerId })
    .from(billingCustomers)
    .where(eq(billingCustomers.orgId, orgId));
  return row?.id ?? null;
}

/** Saves the org's customer; a concurrent save keeps the first one (returned). */
export async function saveCustomer(db: DbOrTx, orgId: string, stripeCustomerId: string): Promise<string> {
  await db.insert(billingCustomers).values({ orgId, stripeCustomerId }).onConflictDoNothing();
  return (await customerOf(db, orgId))!;
}

export async function insertPayment(db: DbOrTx, row: typeof billingPayments.$inferInsert): Promise<boolean> {
  const r = await db.insert(billingPayments).values(row).onConflictDoNothing().returning({ id: billingPayments.id });
  return r.length > 0;
}

/** The row of an auto top-up charge: the PaymentIntent is both its id and its intent. */
export function insertAutoTopup(
  db: DbOrTx,
  p: { paymentIntentId: string; orgId: string; amount: bigint; status: "open" | "failed" },
): Promise<boolean> {
  return insertPayment(db, {
    id: p.paymentIntentId,
    orgId: p.orgId,
    kind: "auto_topup",
    amountMicroUsd: p.amount,
    status: p.status,
    paymentIntentId: p.paymentIntentId,
  });
}

/** The payment row, locked until the transaction ends (webhooks of one payment run one at a time). */
export async function lockPayment(db: DbOrTx, id: string): Promise<PaymentRow | null> {
  const [row] = await db.select().from(billingPayments).where(eq(billingPayments.id, id)).for("update");
  return row ?? null;
}

export async function lockPaymentByIntent(db: DbOrTx, paymentIntentId: string): Promise<PaymentRow | null> {
  const [row] = await db
    .select()
    .from(billingPayments)
    .where(eq(billingPayments.paymentIntentId, paymentIntentId))
    .for("update");
  return row ?? null;
}

export async function updatePayment(
  db: DbOrTx,
  id: string,
  set: Partial<Pick<PaymentRow, "status" | "paymentIntentId" | "refundedMicroUsd">>,
): Promise<void> {
  await db
    .update(billingPayments)
    .set({ ...set, updatedAt: new Date() })
    .where(eq(billingPayments.id, id));
}

/** Records a webhook event id; false when it was already recorded (a redelivery). Commits with the event's effects. */
export async function claimEvent(db: DbOrTx, id: string, type: string): Promise<boolean> {
  const r = await db
    .insert(stripeEvents)
    .values({ id, type, processedAt: new Date() })
    .onConflictDoNothing()
    .returning({ id: stripeEvents.id });
  return r.length > 0;
}

export async function settingsOf(db: DbOrTx, orgId: string) {
  const [row] = await db.select().from(billingSettings).where(eq(billingSettings.orgId, orgId));
  return row ?? null;
}

export async function saveAutoTopup(
  db: DbOrTx,
  orgId: string,
  v: { enabled: boolean; threshold: bigint | null; amount: bigint | null },
): Promise<void> {
  const set = {
    autoTopupEnabled: v.enabled,
    autoTopupThresholdMicroUsd: v.threshold,
    autoTopupAmountMicroUsd: v.amount,
    updatedAt: new Date(),
  };
  await db
    .insert(billingSettings)
    .values({ orgId, ...set })
    .onConflictDoUpdate({ target: billingSettings.orgId, set });
}

/** Auto top-up charges started for an organization in the last 24 hours (the daily safety cap). */
export async function autoTopupsLastDay(db: DbOrTx, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(billingPayments)
    .where(
      and(
        eq(billingPayments.orgId, orgId),
        eq(billingPayments.kind, "auto_topup"),
        sql`${billingPayments.createdAt} > now() - interval '24 hours'`,
      ),
    );
  return Number(row?.n ?? 0);
}

/** Orgs among `orgIds` with auto top-up on whose ledger balance is below their threshold, with the account's credit version. */
export async function autoTopupCandidates(db: DbOrTx, orgIds: string[]) {
  if (orgIds.length === 0) return [];
  return db
    .select({
      orgId: billingSettings.orgId,
      threshold: billingSettings.autoTopupThresholdMicroUsd,
      amount: billingSettings.autoTopupAmountMicroUsd,
      balance: billingAccounts.balanceMicroUsd,
      creditSeq: billingAccounts.creditSeq,
    })
    .from(billingSettings)
    .innerJoin(billingAccounts, eq(billingAccounts.orgId, billingSettings.orgId))
    .where(
      and(
        eq(billingSettings.autoTopupEnabled, true),
        sql`${billingSettings.orgId} in (${sql.join(
          orgIds.map((id) => sql`${id}`),
          sql`, `,
        )})`,
        sql`${billingAccounts.balanceMicroUsd} < ${billingSettings.autoTopupThresholdMicroUsd}`,
      ),
    );
}

/** Fire-once per (org, event, period): true only for the one caller (on any replica) whose insert wins. */
export async function claimFire(db: DbOrTx, orgId: string, event: string, period: string): Promise<boolean> {
  const r = await db
    .insert(billingEventsFired)
    .values({ orgId, event, period })
    .onConflictDoNothing()
    .returning({ orgId: billingEventsFired.orgId });
  return r.length > 0;
}
