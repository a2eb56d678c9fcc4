/**
 * Billing-alert SQL, always scoped by organization. "Fire once" is the
 * primary key of `billing_events_fired`: `claimEvent` inserts the (org, event,
 * period) row and says whether this caller's insert won.
 */
import { and, eq, inArray, or, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import {
  billingAccounts,
  billingAlertSubscribers,
  billingEventsFired,
  billingSettings,
  billingUsageHourly,
} from "../billing/billing.schema.js";
import { members, organizations } from "../organizations/organizations.schema.js";
import type { AlertEvent } from "./alerts.schema.js";

export type AlertSettingsRow = typeof billingSettings.$inferSelect;

export async function getSettings(db: DbOrTx, orgId: string): Promise<AlertSettingsRow | null> {
  const [row] = await db.select().from(billingSettings).where(eq(billingSettings.orgId, orgId));
  return row ?? null;
}

/** Settings of the orgs that have any alert configured (the flush listener's first read). */
export async function settingsWithAlerts(db: DbOrTx, orgIds: string[]): Promise<AlertSettingsRow[]> {
  if (orgIds.length === 0) return [];
  return db
    .select()
    .from(billingSettings)
    .where(
      and(
        inArray(billingSettings.orgId, orgIds),
        or(
          sql`${billingSettings.lowBalanceAlertMicroUsd} is not null`,
          sql`${billingSettings.monthlyBudgetMicroUsd} is not null`,
        ),
      ),
    );
}

export interface AlertColumns {
  lowBalanceAlertMicroUsd: bigint | null;
  monthlyBudgetMicroUsd: bigint | null;
  alertWebhookUrl: string | null;
  alertWebhookSecretCiphertext: string | null;
}

/** Upserts only the alert columns (auto top-up columns of the same row are left alone). */
export async function saveSettings(db: DbOrTx, orgId: string, cols: AlertColumns): Promise<AlertSettingsRow> {
  const [row] = await db
    .insert(billingSettings)
    .values({ orgId, ...cols })
    .onConflictDoUpdate({ target: billingSettings.orgId, set: { ...cols, updatedAt: new Date() } })
    .returning();
  return row!;
}

/** Locks the org's settings row (if any) for a read-modify-write. */
export async function lockSettings(db: DbOrTx, orgId: string): Promise<AlertSettingsRow | null> {
  const [row] = await db.select().from(billingSettings).where(eq(billingSettings.orgId, orgId)).for("update");
  return row ?? null;
}

/** Re-arms alerts: forgets that they fired in the given periods (a changed threshold is a new alert). */
export async function rearm(db: DbOrTx, orgId: string, events: readonly AlertEvent[], period: string): Promise<void> {
  if (events.length === 0) return;
  await db
    .delete(billingEventsFired)
    .where(
      and(
        eq(billingEventsFired.orgId, orgId),
        inArray(billingEventsFired.event, [...events]),
        eq(billingEventsFired.period, period),
      ),
    );
}

/** True when this insert won the (org, event, period) key: the caller fires; everyone else does nothing. */
export async function claimEvent(db: DbOrTx, orgId: string, event: AlertEvent, period: string): Promise<boolean> {
  const won = await db
    .insert(billingEventsFired)
    .values({ orgId, event, period })
    .onConflictDoNothing()
    .returning({ event: billingEventsFired.event });
  return won.length === 1;
}

export async function account(db: DbOrTx, orgId: string): Promise<{ balanceMicroUsd: bigint; creditSeq: bigint }> {
  const [row] = await db
    .select({ balanceMicroUsd: billingAccounts.balanceMicroUsd, creditSeq: billingAccounts.creditSeq })
    .from(billingAccounts)
    .where(eq(billingAccounts.orgId, orgId));
  return row ?? { balanceMicroUsd: 0n, creditSeq: 0n };
}

/** Charged (flushed) spend of the org since `since`, from the hourly usage rows. */
export async function spendSince(db: DbOrTx, orgId: string, since: Date): Promise<bigint> {
  const [row] = await db
    .select({ s: sql<string>`coalesce(sum(${billingUsageHourly.costMicroUsd}), 0)::text` })
    .from(billingUsageHourly)
    .where(and(eq(billingUsageHourly.orgId, orgId), sql`${billingUsageHourly.hour} >= ${since.toISOString()}`));
  return BigInt(row?.s ?? "0");
}

export async function org(db: DbOrTx, orgId: string): Promise<{ id: string; slug: string; name: string } | null> {
  const [row] = await db
    .select({ id: organizations.id, slug: organizations.slug, name: organizations.name })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  return row ?? null;
}

/** Who gets alert emails: the owner, and admins who opted in and are still admins of the org. */
export async function recipients(
  db: DbOrTx,
  orgId: string,
): Promise<Array<{ userId: string; email: string; name: string; role: string }>> {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: members.role })
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .leftJoin(
      billingAlertSubscribers,
      and(eq(billingAlertSubscribers.orgId, members.orgId), eq(billingAlertSubscribers.userId, members.userId)),
    )
    .where(
      and(
        eq(members.orgId, orgId),
        or(
          eq(members.role, "owner"),
          and(eq(members.role, "admin"), sql`${billingAlertSubscribers.userId} is not null`),
        ),
      ),
    )
    .orderBy(users.email);
}

export async function isSubscribed(db: DbOrTx, orgId: string, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ u: billingAlertSubscribers.userId })
    .from(billingAlertSubscribers)
    .where(and(eq(billingAlertSubscribers.orgId, orgId), eq(billingAlertSubscribers.userId, userId)));
  return Boolean(row);
}

/** Returns true when the row was added (false: already subscribed). */
export async function subscribe(db: DbOrTx, orgId: string, userId: string): Promise<boolean> {
  const r = await db
    .insert(billingAlertSubscribers)
    .values({ orgId, userId })
    .onConflictDoNothing()
    .returning({ u: billingAlertSubscribers.userId });
  return r.length === 1;
}

/** Returns true when a row was removed. */
export async function unsubscribe(db: DbOrTx, orgId: string, userId: string): Promise<boolean> {
  const r = await db
    .delete(billingAlertSubscribers)
    .where(and(eq(billingAlertSubscribers.orgId, orgId), eq(billingAlertSubscribers.userId, userId)))
    .returning({ u: billingAlertSubscribers.userId });
  return r.length === 1;
}
