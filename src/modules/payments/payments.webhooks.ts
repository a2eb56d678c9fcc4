/**
 * Stripe webhooks (`POST /api/v1/webhooks/stripe`). Invariants:
 *  - the signature is checked on the raw bytes with the endpoint secret and a
 *    300-second tolerance both ways (a timestamp from the future is refused
 *    too); a bad signature is 400 STRIPE_SIGNATURE_INVALID and writes nothing;
 *  - one transaction per event: the event id row (stripe_events), the ledger
 *    entries and the payment row changes commit together. A redelivery, even
 *    concurrent, finds the id row and changes nothing; if processing fails the
 *    whole transaction rolls back and Stripe retries;
 *  - the money guard is the ledger's idempotency key, one per real-world
 *    movement: `stripe:checkout:<session>`, `stripe:auto_topup:<payment intent>`,
 *    `stripe:refund:<refund>`, `stripe:dispute:<dispute>`, `stripe:dispute_won:<dispute>`;
 *  - the organization comes from our own payment row (created when the
 *    checkout or charge was started), never from event metadata alone;
 *  - reversals (refunds, disputes) are posted even when the credits were
 *    already spent: the balance may go negative, and the gateway then refuses
 *    paid requests (402) until the organization tops up. A payment is never
 *    reversed by more than was credited for it.
 */
import type Stripe from "stripe";
import type { Logger } from "pino";
import { and, eq } from "drizzle-orm";
import { recordAudit } from "../../platform/audit.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { ledgerEntries } from "../billing/billing.schema.js";
import { postLedgerEntry } from "../billing/billing.repo.js";
import * as repo from "./payments.repo.js";
import type { PaymentsService } from "./payments.service.js";
import { idOf, MICRO_PER_CENT, STRIPE_ACTOR } from "./payments.shared.js";
import { stripeWebhooks } from "./stripe.client.js";

export const WEBHOOK_TOLERANCE_SECONDS = 300;

export interface WebhookDeps {
  db: Db;
  stripe: Stripe | null;
  webhookSecret?: string;
  log: Logger;
  payments: PaymentsService;
  onCredited(orgId: string): void;
}

const cents = (n: number) => BigInt(n) * MICRO_PER_CENT;

function signatureTimestamp(header: string): number | null {
  const m = /(?:^|,)t=(\d{1,12})(?:,|$)/.exec(header);
  return m ? Number(m[1]) : null;
}

export function createWebhookHandler(deps: WebhookDeps) {
  const { db, log } = deps;
  type Effects = { credited: Set<string> };

  async function refundsOf(charge: Stripe.Charge): Promise<Stripe.Refund[]> {
    if (charge.refunds?.data && !charge.refunds.has_more) return charge.refunds.data;
    // Webhook payloads do not embed the refund list by default: ask Stripe (before the transaction).
    if (!deps.stripe) return [];
    const out: Stripe.Refund[] = [];
    for await (const r of deps.stripe.refunds.list({ charge: charge.id, limit: 100 })) out.push(r);
    return out;
  }

  async function credit(
    tx: DbOrTx,
    fx: Effects,
    p: repo.PaymentRow,
    key: string,
    note: string,
    meta: Record<string, unknown>,
  ) {
    const res = await postLedgerEntry(tx, {
      orgId: p.orgId,
      kind: "topup",
      amountMicroUsd: p.amountMicroUsd,
      idempotencyKey: key,
      note,
      actor: STRIPE_ACTOR,
      auditMetadata: meta,
    });
    if (!res.duplicate) fx.credited.add(p.orgId);
  }

  async function checkoutPaid(tx: DbOrTx, fx: Effects, s: Stripe.Checkout.Session) {
    const p = await repo.lockPayment(tx, s.id);
    if (p?.kind !== "checkout")
      return log.info({ session: s.id }, "stripe webhook: checkout session not started by this instance; ignored");
    const pi = idOf(s.payment_intent);
    if (pi && p.paymentIntentId !== pi) await repo.updatePayment(tx, p.id, { paymentIntentId: pi });
    if (s.payment_status !== "paid") return; // async payment methods: wait for async_payment_succeeded
    if (s.currency !== "usd" || s.amount_total === null || cents(s.amount_total) !== p.amountMicroUsd) {
      await recordAudit(tx, STRIPE_ACTOR, {
        orgId: p.orgId,
        action: "billing.payment_mismatch",
        targetType: "payment",
        targetId: p.id,
        metadata: {
          expectedMicroUsd: p.amountMicroUsd.toString(),
          paidCents: s.amount_total,
          currency: s.currency,
          note: "not credited automatically; an operator should review it",
        },
      });
      return log.error({ session: s.id }, "stripe webhook: paid amount differs from the checkout amount; not credited");
    }
    await credit(tx, fx, p, `stripe:checkout:${s.id}`, "Stripe top-up", {
      checkoutSessionId: s.id,
      paymentIntentId: pi,
    });
    if (p.status === "open" || p.status === "failed" || p.status === "expired")
      await repo.updatePayment(tx, p.id, { status: "paid" });
  }

  async function checkoutStatus(tx: DbOrTx, s: Stripe.Checkout.Session, status: "failed" | "expired") {
    const p = await repo.lockPayment(tx, s.id);
    if (p?.status !== "open") return;
    await repo.updatePayment(tx, p.id, { status });
    await recordAudit(tx, STRIPE_ACTOR, {
      orgId: p.orgId,
      action: status === "failed" ? "billing.payment_failed" : "billing.checkout_expired",
      targetType: "payment",
      targetId: p.id,
      metadata: { amountMicroUsd: p.amountMicroUsd.toString() },
    });
  }

  async function autoTopupSucceeded(tx: DbOrTx, fx: Effects, pi: Stripe.PaymentIntent) {
    if (pi.metadata?.tollgate_kind !== "auto_topup") return; // checkout payments are credited by their session events
    let p = await repo.lockPayment(tx, pi.id);
    if (!p) {
      // The webhook overtook the charging replica: trust the signed event's metadata, but only for this org's own customer.
      const orgId = pi.metadata.tollgate_org_id;
      const amount = /^\d{1,15}$/.test(pi.metadata.tollgate_amount_micro_usd ?? "")
        ? BigInt(pi.metadata.tollgate_amount_micro_usd!)
        : null;
      if (!orgId || amount === null || (await repo.customerOf(tx, orgId)) !== idOf(pi.customer))
        return log.warn({ pi: pi.id }, "stripe webhook: auto top-up of an unknown organization; ignored");
      await repo.insertAutoTopup(tx, { paymentIntentId: pi.id, orgId, amount, status: "open" });
      p = (await repo.lockPayment(tx, pi.id))!;
    }
    if (pi.currency !== "usd" || cents(pi.amount_received ?? pi.amount) !== p.amountMicroUsd)
      return log.error({ pi: pi.id }, "stripe webhook: auto top-up amount differs; not credited");
    const res = await deps.payments.creditAutoTopup(tx, { id: pi.id, orgId: p.orgId, amount: p.amountMicroUsd });
    if (!res.duplicate) fx.credited.add(p.orgId);
  }

  async function autoTopupFailed(tx: DbOrTx, pi: Stripe.PaymentIntent) {
    if (pi.metadata?.tollgate_kind !== "auto_topup") return;
    const p = await repo.lockPayment(tx, pi.id);
    if (p?.status !== "open") return;
    await repo.updatePayment(tx, p.id, { status: "failed" });
    await recordAudit(tx, STRIPE_ACTOR, {
      orgId: p.orgId,
      action: "billing.auto_topup_failed",
      targetType: "payment",
      targetId: p.id,
      metadata: { reason: pi.last_payment_error?.code ?? "payment failed", rearmsOn: "the next credit" },
    });
  }

  /** Reverses each refund of the charge not reversed yet (keyed by refund id: partial refunds add up, replays do nothing). */
  async function chargeRefunded(tx: DbOrTx, fx: Effects, charge: Stripe.Charge, refunds: Stripe.Refund[]) {
    const piId = idOf(charge.payment_intent);
    const p = piId ? await repo.lockPaymentByIntent(tx, piId) : null;
    if (!p)
      return log.info({ charge: charge.id }, "stripe webhook: refund of a charge not made by this instance; ignored");
    let reversed = p.refundedMicroUsd;
    for (const r of [...refunds].sort((a, b) => a.created - b.created || a.id.localeCompare(b.id))) {
      if (r.status !== "succeeded" && r.status !== "pending") continue;
      if (r.currency !== "usd") continue;
      // biome-ignore lint/complexity/useMathMinMax: bigint amounts, which Math.min does not accept
      const amount = cents(r.amount) < p.amountMicroUsd - reversed ? cents(r.amount) : p.amountMicroUsd - reversed;
      if (amount <= 0n) continue;
      const res = await postLedgerEntry(tx, {
        orgId: p.orgId,
        kind: "refund",
        amountMicroUsd: -amount,
        idempotencyKey: `stripe:refund:${r.id}`,
        note: `Refund of a Stripe top-up ($${formatUsd(amount)})`,
        actor: STRIPE_ACTOR,
        auditMetadata: { refundId: r.id, chargeId: charge.id, paymentId: p.id },
      });
      if (!res.duplicate) {
        reversed += amount;
        fx.credited.add(p.orgId);
      }
    }
    if (reversed !== p.refundedMicroUsd)
      await repo.updatePayment(tx, p.id, { refundedMicroUsd: reversed, status: "refunded" });
  }

  async function paymentOfDispute(tx: DbOrTx, d: Stripe.Dispute) {
    const piId = idOf(d.payment_intent);
    return piId ? repo.lockPaymentByIntent(tx, piId) : null;
  }

  async function disputeCreated(tx: DbOrTx, fx: Effects, d: Stripe.Dispute) {
    const p = await paymentOfDispute(tx, d);
    if (!p)
      return log.info({ dispute: d.id }, "stripe webhook: dispute of a charge not made by this instance; ignored");
    const left = p.amountMicroUsd - p.refundedMicroUsd;
    // biome-ignore lint/complexity/useMathMinMax: bigint amounts, which Math.min does not accept
    const amount = cents(d.amount) < left ? cents(d.amount) : left;
    if (amount <= 0n) return;
    const res = await postLedgerEntry(tx, {
      orgId: p.orgId,
      kind: "adjustment",
      amountMicroUsd: -amount,
      idempotencyKey: `stripe:dispute:${d.id}`,
      note: `Card payment disputed: credits reversed ($${formatUsd(amount)})`,
      actor: STRIPE_ACTOR,
      auditMetadata: { disputeId: d.id, paymentId: p.id, reason: d.reason },
    });
    if (!res.duplicate) {
      fx.credited.add(p.orgId);
      await repo.updatePayment(tx, p.id, { refundedMicroUsd: p.refundedMicroUsd + amount, status: "disputed" });
    }
  }

  async function disputeClosed(tx: DbOrTx, fx: Effects, d: Stripe.Dispute) {
    const p = await paymentOfDispute(tx, d);
    if (!p) return;
    if (d.status !== "won") {
      await recordAudit(tx, STRIPE_ACTOR, {
        orgId: p.orgId,
        action: "billing.dispute_closed",
        targetType: "payment",
        targetId: p.id,
        metadata: { disputeId: d.id, status: d.status },
      });
      return;
    }
    const [reversal] = await tx
      .select({ amount: ledgerEntries.amountMicroUsd })
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.orgId, p.orgId), eq(ledgerEntries.idempotencyKey, `stripe:dispute:${d.id}`)));
    if (!reversal) return;
    const amount = -reversal.amount;
    const res = await postLedgerEntry(tx, {
      orgId: p.orgId,
      kind: "adjustment",
      amountMicroUsd: amount,
      idempotencyKey: `stripe:dispute_won:${d.id}`,
      note: `Dispute won: credits restored ($${formatUsd(amount)})`,
      actor: STRIPE_ACTOR,
      auditMetadata: { disputeId: d.id, paymentId: p.id },
    });
    if (!res.duplicate) {
      fx.credited.add(p.orgId);
      const refunded = p.refundedMicroUsd - amount;
      await repo.updatePayment(tx, p.id, { refundedMicroUsd: refunded, status: refunded > 0n ? "refunded" : "paid" });
    }
  }

  /** A card saved through Checkout setup mode: audited; it becomes the default when the customer has none. */
  async function setupCompleted(tx: DbOrTx, s: Stripe.Checkout.Session): Promise<(() => Promise<void>) | null> {
    const orgId = s.metadata?.tollgate_org_id;
    const customer = idOf(s.customer);
    if (!orgId || !customer || (await repo.customerOf(tx, orgId)) !== customer) return null;
    await recordAudit(tx, STRIPE_ACTOR, {
      orgId,
      action: "billing.payment_method_added",
      targetType: "checkout_session",
      targetId: s.id,
      metadata: { setupIntentId: idOf(s.setup_intent) },
    });
    const stripe = deps.stripe;
    const setupIntent = idOf(s.setup_intent);
    if (!stripe || !setupIntent) return null;
    return async () => {
      const si = await stripe.setupIntents.retrieve(setupIntent);
      const pm = idOf(si.payment_method);
      const c = await stripe.customers.retrieve(customer);
      if (!pm || ("deleted" in c && c.deleted)) return;
      if (!(c as Stripe.Customer).invoice_settings?.default_payment_method) {
        await stripe.customers.update(customer, { invoice_settings: { default_payment_method: pm } });
      }
    };
  }

  return async function handle(raw: Buffer, signature: string | undefined): Promise<{ duplicate: boolean }> {
    if (!deps.webhookSecret) {
      throw appError("STRIPE_WEBHOOK_NOT_CONFIGURED");
    }
    const invalid = () => appError("STRIPE_SIGNATURE_INVALID");
    if (!signature || !Buffer.isBuffer(raw)) throw invalid();
    let event: Stripe.Event;
    try {
      event = stripeWebhooks.constructEvent(raw, signature, deps.webhookSecret, WEBHOOK_TOLERANCE_SECONDS);
    } catch {
      throw invalid();
    }
    const ts = signatureTimestamp(signature);
    if (ts === null || Math.abs(Date.now() / 1000 - ts) > WEBHOOK_TOLERANCE_SECONDS) throw invalid();

    const refunds = event.type === "charge.refunded" ? await refundsOf(event.data.object) : [];
    const fx: Effects = { credited: new Set() };
    const outcome = await db.transaction(async (tx) => {
      if (!(await repo.claimEvent(tx, event.id, event.type))) return { duplicate: true, after: null };
      let after: (() => Promise<void>) | null = null;
      switch (event.type) {
        case "checkout.session.completed":
          if (event.data.object.mode === "setup") after = await setupCompleted(tx, event.data.object);
          else await checkoutPaid(tx, fx, event.data.object);
          break;
        case "checkout.session.async_payment_succeeded":
          await checkoutPaid(tx, fx, event.data.object);
          break;
        case "checkout.session.async_payment_failed":
          await checkoutStatus(tx, event.data.object, "failed");
          break;
        case "checkout.session.expired":
          await checkoutStatus(tx, event.data.object, "expired");
          break;
        case "payment_intent.succeeded":
          await autoTopupSucceeded(tx, fx, event.data.object);
          break;
        case "payment_intent.payment_failed":
          await autoTopupFailed(tx, event.data.object);
          break;
        case "charge.refunded":
          await chargeRefunded(tx, fx, event.data.object, refunds);
          break;
        case "charge.dispute.created":
          await disputeCreated(tx, fx, event.data.object);
          break;
        case "charge.dispute.closed":
          await disputeClosed(tx, fx, event.data.object);
          break;
        default:
          break; // not ours to act on: acknowledged so Stripe stops retrying
      }
      return { duplicate: false, after };
    });
    for (const orgId of fx.credited) deps.onCredited(orgId);
    if (outcome.after)
      await outcome
        .after()
        .catch((err) =>
          log.warn({ err: (err as Error).message }, "stripe webhook: could not set the new card as default"),
        );
    return { duplicate: outcome.duplicate };
  };
}

export type WebhookHandler = ReturnType<typeof createWebhookHandler>;
