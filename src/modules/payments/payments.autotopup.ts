/**
 * Auto top-up: its settings, and the runner that charges the default card
 * after a usage flush left the balance below the threshold — once per
 * crossing (the claim on billing_events_fired), at most AUTO_TOPUPS_PER_DAY a
 * day; a failure is recorded and disarms it until the next credit.
 */
import type Stripe from "stripe";
import type { OrgContext } from "../../platform/auth/guard.js";
import { recordAudit } from "../../platform/audit.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { moneyValues } from "../../platform/money-fields.js";
import { assertCan } from "../../platform/permissions.js";
import { postLedgerEntry } from "../billing/billing.repo.js";
import * as repo from "./payments.repo.js";
import type { AutoTopupBody } from "./payments.schema.js";
import {
  actorOf,
  checkTopupAmount,
  idOf,
  MAX_TOPUP,
  MICRO_PER_CENT,
  MIN_TOPUP,
  type PaymentsDeps,
  STRIPE_ACTOR,
  type StripeAccess,
  stripeNotConfigured,
} from "./payments.shared.js";
import { isStripeError } from "./stripe.client.js";

/** At most this many auto top-up charges per organization per 24 hours. */
export const AUTO_TOPUPS_PER_DAY = 10;

/** Credits a paid auto top-up once (shared by the synchronous path and the webhook). */
export async function creditAutoTopup(
  tx: DbOrTx,
  p: { id: string; orgId: string; amount: bigint; last4?: string | null },
) {
  const res = await postLedgerEntry(tx, {
    orgId: p.orgId,
    kind: "topup",
    amountMicroUsd: p.amount,
    idempotencyKey: `stripe:auto_topup:${p.id}`,
    note: `Auto top-up${p.last4 ? ` (card •••• ${p.last4})` : ""}`,
    actor: STRIPE_ACTOR,
    auditMetadata: { paymentIntentId: p.id, auto: true },
  });
  await repo.updatePayment(tx, p.id, { status: "paid" });
  return res;
}

export function createAutoTopup(deps: PaymentsDeps, stripeAccess: StripeAccess) {
  const { db, log } = deps;
  const { defaultMethod } = stripeAccess;
  const running = new Set<Promise<void>>();

  async function failAutoTopup(
    orgId: string,
    period: string,
    reason: string,
    paymentIntentId: string | null,
    amount: bigint,
  ) {
    await db.transaction(async (tx) => {
      if (paymentIntentId) {
        await repo.insertAutoTopup(tx, { paymentIntentId, orgId, amount, status: "failed" });
        await repo.updatePayment(tx, paymentIntentId, { status: "failed" });
      }
      await recordAudit(tx, STRIPE_ACTOR, {
        orgId,
        action: "billing.auto_topup_failed",
        targetType: "payment",
        targetId: paymentIntentId,
        metadata: {
          reason,
          ...moneyValues("amount", amount),
          creditSeq: period,
          rearmsOn: "the next credit",
        },
      });
    });
    log.warn({ orgId, reason }, "auto top-up failed; it stays off until the next credit");
  }

  async function chargeAutoTopup(orgId: string, amount: bigint, period: string): Promise<void> {
    const stripe = deps.stripe!;
    const customer = await repo.customerOf(db, orgId);
    if (!customer) return failAutoTopup(orgId, period, "no Stripe customer (no card was ever added)", null, amount);
    let pmId: string | null;
    try {
      pmId = await defaultMethod(customer);
    } catch {
      return failAutoTopup(orgId, period, "Stripe was unreachable", null, amount);
    }
    if (!pmId) return failAutoTopup(orgId, period, "no default payment method", null, amount);
    let pi: Stripe.PaymentIntent;
    try {
      pi = await stripe.paymentIntents.create(
        {
          amount: Number(amount / MICRO_PER_CENT),
          currency: "usd",
          customer,
          payment_method: pmId,
          off_session: true,
          confirm: true,
          description: "Tollgate credits (auto top-up)",
          metadata: {
            tollgate_org_id: orgId,
            tollgate_kind: "auto_topup",
            tollgate_amount_micro_usd: amount.toString(),
            tollgate_credit_seq: period,
          },
        },
        // One charge per crossing even if this runs twice (a retry, two replicas past a lost claim).
        { idempotencyKey: `tollgate-auto-topup-${orgId}-${period}` },
      );
    } catch (err) {
      const declined = isStripeError(err) && err.type === "StripeCardError";
      const piId = isStripeError(err) ? idOf(err.payment_intent ?? null) : null;
      const reason = declined
        ? `card declined (${(err as Stripe.errors.StripeError).decline_code ?? (err as Stripe.errors.StripeError).code ?? "declined"})`
        : "Stripe error";
      return failAutoTopup(orgId, period, reason, piId, amount);
    }
    if (pi.status !== "succeeded" && pi.status !== "processing") {
      return failAutoTopup(orgId, period, `payment ${pi.status}`, pi.id, amount);
    }
    const res = await db.transaction(async (tx) => {
      await repo.insertAutoTopup(tx, { paymentIntentId: pi.id, orgId, amount, status: "open" });
      await recordAudit(tx, STRIPE_ACTOR, {
        orgId,
        action: "billing.auto_topup_charged",
        targetType: "payment",
        targetId: pi.id,
        metadata: {
          ...moneyValues("amount", amount),
          status: pi.status,
          creditSeq: period,
        },
      });
      // `processing` (rare for cards) is credited by the payment_intent.succeeded webhook.
      return pi.status === "succeeded" ? creditAutoTopup(tx, { id: pi.id, orgId, amount }) : null;
    });
    if (res && !res.duplicate) deps.onCredited(orgId);
  }

  async function getAutoTopup(ctx: OrgContext) {
    assertCan(ctx, "billing", "read");
    const s = await repo.settingsOf(db, ctx.orgId);
    return {
      enabled: Boolean(s?.autoTopupEnabled) && Boolean(deps.stripe),
      ...moneyValues("threshold", s?.autoTopupThresholdMicroUsd ?? null),
      ...moneyValues("amount", s?.autoTopupAmountMicroUsd ?? null),
      stripeConfigured: Boolean(deps.stripe),
      minUsd: formatUsd(MIN_TOPUP),
      maxUsd: formatUsd(MAX_TOPUP),
    };
  }

  return {
    getAutoTopup,

    async setAutoTopup(ctx: OrgContext, body: AutoTopupBody) {
      assertCan(ctx, "billing", "manage");
      const prev = await repo.settingsOf(db, ctx.orgId);
      const threshold =
        body.thresholdUsd !== undefined
          ? checkTopupAmount(body.thresholdUsd, "thresholdUsd", { min: 0n, max: MAX_TOPUP })
          : (prev?.autoTopupThresholdMicroUsd ?? null);
      const amount =
        body.amountUsd !== undefined
          ? checkTopupAmount(body.amountUsd, "amountUsd")
          : (prev?.autoTopupAmountMicroUsd ?? null);
      if (body.enabled) {
        if (!deps.stripe) throw stripeNotConfigured();
        if (threshold === null || amount === null) throw appError("AUTO_TOPUP_INCOMPLETE");
        // One top-up must lift the balance back over the threshold, or every flush would charge again.
        if (amount <= threshold) throw appError("AUTO_TOPUP_AMOUNT_TOO_SMALL");
        const customer = await repo.customerOf(db, ctx.orgId);
        if (!customer || !(await defaultMethod(customer))) {
          throw appError("NO_DEFAULT_PAYMENT_METHOD");
        }
      }
      await db.transaction(async (tx) => {
        await repo.saveAutoTopup(tx, ctx.orgId, { enabled: body.enabled, threshold, amount });
        await recordAudit(tx, actorOf(ctx), {
          orgId: ctx.orgId,
          action: "billing.auto_topup_updated",
          targetType: "billing_settings",
          targetId: ctx.orgId,
          metadata: {
            enabled: body.enabled,
            thresholdMicroUsd: threshold?.toString() ?? null,
            amountMicroUsd: amount?.toString() ?? null,
          },
        });
      });
      return getAutoTopup(ctx);
    },

    /** After a usage flush: charge orgs whose balance fell below their threshold, once per crossing. Never throws. */
    runAutoTopup(orgIds: string[]): Promise<void> {
      if (!deps.stripe || orgIds.length === 0) return Promise.resolve();
      const run = (async () => {
        try {
          const due = await repo.autoTopupCandidates(db, orgIds);
          for (const c of due) {
            if (!c.amount) continue;
            const period = c.creditSeq.toString();
            // Safety cap: a runaway loop (e.g. a balance far below zero after a dispute) never charges a card more than this a day.
            if ((await repo.autoTopupsLastDay(db, c.orgId)) >= AUTO_TOPUPS_PER_DAY) {
              log.warn({ orgId: c.orgId }, `auto top-up skipped: ${AUTO_TOPUPS_PER_DAY} charges in the last 24 hours`);
              continue;
            }
            if (!(await repo.claimFire(db, c.orgId, "auto_topup", period))) continue;
            await chargeAutoTopup(c.orgId, c.amount, period).catch((err) =>
              log.error({ err, orgId: c.orgId }, "auto top-up failed unexpectedly"),
            );
          }
        } catch (err) {
          log.error({ err }, "auto top-up check failed");
        }
      })();
      running.add(run);
      void run.finally(() => running.delete(run));
      return run;
    },

    /** Resolves when the auto top-ups started so far have finished (graceful shutdown, tests). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
