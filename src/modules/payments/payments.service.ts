/**
 * Adding credits with Stripe: Checkout top-ups, saved payment methods and
 * auto top-up. Invariants:
 *  - every method starts with its permission check (owner manages, owner and
 *    admin read — the role table in platform/permissions.ts);
 *  - Stripe calls happen outside database transactions; the row and audit
 *    row that record a change commit together afterwards;
 *  - a payment method id from a client is used only after Stripe says it
 *    belongs to this organization's customer (404 otherwise, like any other
 *    tenant's resource);
 *  - money is credited only by the webhook handler (payments.webhooks.ts) or
 *    the synchronous success of an auto top-up, both through one ledger
 *    idempotency key per payment, so a payment is credited at most once;
 *  - auto top-up charges at most once per crossing: the caller that inserts
 *    (org, 'auto_topup', credit_seq) into billing_events_fired charges, every
 *    other replica does nothing; the next credit bumps credit_seq and re-arms.
 */
import type Stripe from "stripe";
import type { Logger } from "pino";
import type { OrgContext } from "../../platform/auth/guard.js";
import { type AuditActor, recordAudit } from "../../platform/audit.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { AppError, badRequest, conflict, notFound } from "../../platform/errors.js";
import { formatUsd, parseUsd } from "../../platform/money.js";
import { assertCan } from "../../platform/permissions.js";
import { postLedgerEntry } from "../billing/billing.repo.js";
import * as repo from "./payments.repo.js";
import { type AutoTopupBody, CREDIT_PACKS_USD, MAX_TOPUP_USD, MIN_TOPUP_USD } from "./payments.schema.js";
import { isStripeError, stripeFailure } from "./stripe.client.js";

export const MICRO_PER_CENT = 10_000n;
const MIN = parseUsd(MIN_TOPUP_USD);
const MAX = parseUsd(MAX_TOPUP_USD);
/** Webhooks and the auto top-up runner act as Stripe in the audit log and the ledger. */
export const STRIPE_ACTOR: AuditActor = { userId: null, email: "stripe", ip: null };

const NOT_CONFIGURED =
  "Payments are not configured on this instance (no STRIPE_SECRET_KEY). The instance operator can grant credits: tollgate credits grant --org <slug> --usd <amount> --note <text>.";
export const stripeNotConfigured = () => new AppError("STRIPE_NOT_CONFIGURED", 409, NOT_CONFIGURED);

const actorOf = (ctx: OrgContext): AuditActor => ({ userId: ctx.userId, email: ctx.email, ip: ctx.ip });
const idOf = (v: string | { id: string } | null | undefined) => (typeof v === "string" ? v : (v?.id ?? null));
const micro = (v: bigint | null) =>
  v === null ? { microUsd: null, usd: null } : { microUsd: v.toString(), usd: formatUsd(v) };

/** A top-up amount (already exact USD in whole cents: the body schema checks the form) within [MIN, MAX]. */
export function checkTopupAmount(amount: bigint, field: string, bounds = { min: MIN, max: MAX }): bigint {
  if (amount < bounds.min || amount > bounds.max) {
    throw badRequest(
      "AMOUNT_OUT_OF_RANGE",
      `${field} must be between $${formatUsd(bounds.min)} and $${formatUsd(bounds.max)}.`,
    );
  }
  return amount;
}

export interface PaymentsDeps {
  db: Db;
  stripe: Stripe | null;
  publicUrl: string;
  log: Logger;
  /** Tells the gateway's credit store that an org's balance changed (a credit). */
  onCredited(orgId: string): void;
}

/** At most this many auto top-up charges per organization per 24 hours. */
export const AUTO_TOPUPS_PER_DAY = 10;

export function createPaymentsService(deps: PaymentsDeps) {
  const { db, log } = deps;
  const running = new Set<Promise<void>>();
  const billingPage = (slug: string) => `${deps.publicUrl}/${encodeURIComponent(slug)}/settings/billing`;
  const requireStripe = (): Stripe => {
    if (!deps.stripe) throw stripeNotConfigured();
    return deps.stripe;
  };

  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      log.warn(
        {
          stripeError: isStripeError(err) ? { type: err.type, code: err.code, requestId: err.requestId } : String(err),
        },
        `stripe: could not ${what}`,
      );
      throw stripeFailure(err, what);
    }
  }

  /** The org's Stripe customer, created on first use (one per org even under concurrent first uses). */
  async function ensureCustomer(ctx: OrgContext): Promise<string> {
    const existing = await repo.customerOf(db, ctx.orgId);
    if (existing) return existing;
    const stripe = requireStripe();
    const customer = await call("create the customer", () =>
      stripe.customers.create(
        {
          email: ctx.email,
          name: ctx.orgSlug,
          metadata: { tollgate_org_id: ctx.orgId, tollgate_org_slug: ctx.orgSlug },
        },
        { idempotencyKey: `tollgate-customer-${ctx.orgId}-${ctx.userId}` },
      ),
    );
    return repo.saveCustomer(db, ctx.orgId, customer.id);
  }

  async function defaultMethod(customerId: string): Promise<string | null> {
    const stripe = requireStripe();
    const c = await call("read the customer", () => stripe.customers.retrieve(customerId));
    if ("deleted" in c && c.deleted) return null;
    return idOf((c as Stripe.Customer).invoice_settings?.default_payment_method ?? null);
  }

  /** A payment method of THIS org's customer, or 404 (another org's id, an unknown id, a detached one). */
  async function ownedMethod(ctx: OrgContext, id: string): Promise<{ customer: string; pm: Stripe.PaymentMethod }> {
    const stripe = requireStripe();
    const missing = notFound("PAYMENT_METHOD_NOT_FOUND", "No such payment method in this organization.");
    const customer = await repo.customerOf(db, ctx.orgId);
    if (!customer) throw missing;
    let pm: Stripe.PaymentMethod;
    try {
      pm = await stripe.paymentMethods.retrieve(id);
    } catch (err) {
      if (isStripeError(err) && (err.statusCode === 404 || err.code === "resource_missing")) throw missing;
      throw stripeFailure(err, "read the payment method");
    }
    if (idOf(pm.customer) !== customer) throw missing;
    return { customer, pm };
  }

  const describe = (pm: Stripe.PaymentMethod, def: string | null) => ({
    id: pm.id,
    type: pm.type,
    brand: pm.card?.brand ?? null,
    last4: pm.card?.last4 ?? null,
    expMonth: pm.card?.exp_month ?? null,
    expYear: pm.card?.exp_year ?? null,
    isDefault: pm.id === def,
  });

  /** Credits a paid auto top-up once (shared by the synchronous path and the webhook). */
  async function creditAutoTopup(tx: DbOrTx, p: { id: string; orgId: string; amount: bigint; last4?: string | null }) {
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

  async function failAutoTopup(
    orgId: string,
    period: string,
    reason: string,
    paymentIntentId: string | null,
    amount: bigint,
  ) {
    await db.transaction(async (tx) => {
      if (paymentIntentId) {
        await repo.insertPayment(tx, {
          id: paymentIntentId,
          orgId,
          kind: "auto_topup",
          amountMicroUsd: amount,
          status: "failed",
          paymentIntentId,
        });
        await repo.updatePayment(tx, paymentIntentId, { status: "failed" });
      }
      await recordAudit(tx, STRIPE_ACTOR, {
        orgId,
        action: "billing.auto_topup_failed",
        targetType: "payment",
        targetId: paymentIntentId,
        metadata: {
          reason,
          amountMicroUsd: amount.toString(),
          amountUsd: formatUsd(amount),
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
      await repo.insertPayment(tx, {
        id: pi.id,
        orgId,
        kind: "auto_topup",
        amountMicroUsd: amount,
        status: "open",
        paymentIntentId: pi.id,
      });
      await recordAudit(tx, STRIPE_ACTOR, {
        orgId,
        action: "billing.auto_topup_charged",
        targetType: "payment",
        targetId: pi.id,
        metadata: {
          amountMicroUsd: amount.toString(),
          amountUsd: formatUsd(amount),
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
    const t = micro(s?.autoTopupThresholdMicroUsd ?? null);
    const a = micro(s?.autoTopupAmountMicroUsd ?? null);
    return {
      enabled: Boolean(s?.autoTopupEnabled) && Boolean(deps.stripe),
      thresholdMicroUsd: t.microUsd,
      thresholdUsd: t.usd,
      amountMicroUsd: a.microUsd,
      amountUsd: a.usd,
      stripeConfigured: Boolean(deps.stripe),
      minUsd: formatUsd(MIN),
      maxUsd: formatUsd(MAX),
    };
  }

  return {
    creditAutoTopup,

    async checkoutOptions(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      return {
        stripeConfigured: Boolean(deps.stripe),
        packsUsd: [...CREDIT_PACKS_USD],
        minUsd: formatUsd(MIN),
        maxUsd: formatUsd(MAX),
        currency: "usd" as const,
        addCredits: deps.stripe
          ? "Pay by card with Stripe Checkout; credits appear once Stripe confirms the payment."
          : NOT_CONFIGURED,
      };
    },

    async checkout(ctx: OrgContext, body: { amountUsd: bigint }) {
      assertCan(ctx, "billing", "manage");
      const stripe = requireStripe();
      const amount = checkTopupAmount(body.amountUsd, "amountUsd");
      const customer = await ensureCustomer(ctx);
      const meta = {
        tollgate_org_id: ctx.orgId,
        tollgate_kind: "checkout",
        tollgate_amount_micro_usd: amount.toString(),
      };
      const session = await call("start the checkout", () =>
        stripe.checkout.sessions.create({
          mode: "payment",
          customer,
          client_reference_id: ctx.orgId,
          line_items: [
            {
              quantity: 1,
              price_data: {
                currency: "usd",
                unit_amount: Number(amount / MICRO_PER_CENT),
                product_data: { name: `Tollgate credits ($${formatUsd(amount).replace(/\.?0+$/, "")})` },
              },
            },
          ],
          metadata: meta,
          payment_intent_data: { metadata: meta },
          success_url: `${billingPage(ctx.orgSlug)}?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
          cancel_url: `${billingPage(ctx.orgSlug)}?checkout=cancelled`,
        }),
      );
      if (!session.url) throw stripeFailure(null, "start the checkout");
      await db.transaction(async (tx) => {
        await repo.insertPayment(tx, {
          id: session.id,
          orgId: ctx.orgId,
          kind: "checkout",
          amountMicroUsd: amount,
          status: "open",
          createdByUserId: ctx.userId,
        });
        await recordAudit(tx, actorOf(ctx), {
          orgId: ctx.orgId,
          action: "billing.checkout_created",
          targetType: "payment",
          targetId: session.id,
          metadata: { amountMicroUsd: amount.toString(), amountUsd: formatUsd(amount) },
        });
      });
      return { id: session.id, url: session.url };
    },

    async listPaymentMethods(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      if (!deps.stripe) return { stripeConfigured: false, paymentMethods: [] };
      const stripe = deps.stripe;
      const customer = await repo.customerOf(db, ctx.orgId);
      if (!customer) return { stripeConfigured: true, paymentMethods: [] };
      const [list, def] = await Promise.all([
        call("list payment methods", () => stripe.customers.listPaymentMethods(customer, { limit: 100 })),
        defaultMethod(customer),
      ]);
      return { stripeConfigured: true, paymentMethods: list.data.map((pm) => describe(pm, def)) };
    },

    async setupPaymentMethod(ctx: OrgContext) {
      assertCan(ctx, "billing", "manage");
      const stripe = requireStripe();
      const customer = await ensureCustomer(ctx);
      const meta = { tollgate_org_id: ctx.orgId, tollgate_kind: "setup" };
      const session = await call("start adding a card", () =>
        stripe.checkout.sessions.create({
          mode: "setup",
          customer,
          currency: "usd",
          metadata: meta,
          setup_intent_data: { metadata: meta },
          success_url: `${billingPage(ctx.orgSlug)}?setup=success`,
          cancel_url: `${billingPage(ctx.orgSlug)}?setup=cancelled`,
        }),
      );
      if (!session.url) throw stripeFailure(null, "start adding a card");
      await recordAudit(db, actorOf(ctx), {
        orgId: ctx.orgId,
        action: "billing.payment_method_setup_started",
        targetType: "checkout_session",
        targetId: session.id,
      });
      return { id: session.id, url: session.url };
    },

    async removePaymentMethod(ctx: OrgContext, id: string) {
      assertCan(ctx, "billing", "manage");
      const stripe = requireStripe();
      const { customer, pm } = await ownedMethod(ctx, id);
      const wasDefault = (await defaultMethod(customer)) === pm.id;
      await call("remove the payment method", () => stripe.paymentMethods.detach(pm.id));
      if (wasDefault)
        await call("update the customer", () =>
          stripe.customers.update(customer, { invoice_settings: { default_payment_method: "" } }),
        );
      await recordAudit(db, actorOf(ctx), {
        orgId: ctx.orgId,
        action: "billing.payment_method_removed",
        targetType: "payment_method",
        targetId: pm.id,
        metadata: { brand: pm.card?.brand ?? null, last4: pm.card?.last4 ?? null, wasDefault },
      });
    },

    async setDefaultPaymentMethod(ctx: OrgContext, id: string) {
      assertCan(ctx, "billing", "manage");
      const stripe = requireStripe();
      const { customer, pm } = await ownedMethod(ctx, id);
      await call("update the customer", () =>
        stripe.customers.update(customer, { invoice_settings: { default_payment_method: pm.id } }),
      );
      await recordAudit(db, actorOf(ctx), {
        orgId: ctx.orgId,
        action: "billing.payment_method_default_set",
        targetType: "payment_method",
        targetId: pm.id,
        metadata: { brand: pm.card?.brand ?? null, last4: pm.card?.last4 ?? null },
      });
      return describe(pm, pm.id);
    },

    getAutoTopup,

    async setAutoTopup(ctx: OrgContext, body: AutoTopupBody) {
      assertCan(ctx, "billing", "manage");
      const prev = await repo.settingsOf(db, ctx.orgId);
      const threshold =
        body.thresholdUsd !== undefined
          ? checkTopupAmount(body.thresholdUsd, "thresholdUsd", { min: 0n, max: MAX })
          : (prev?.autoTopupThresholdMicroUsd ?? null);
      const amount =
        body.amountUsd !== undefined
          ? checkTopupAmount(body.amountUsd, "amountUsd")
          : (prev?.autoTopupAmountMicroUsd ?? null);
      if (body.enabled) {
        if (!deps.stripe) throw stripeNotConfigured();
        if (threshold === null || amount === null)
          throw badRequest(
            "AUTO_TOPUP_INCOMPLETE",
            "Auto top-up needs thresholdUsd (charge when the balance falls below it) and amountUsd (how much to add).",
          );
        // One top-up must lift the balance back over the threshold, or every flush would charge again.
        if (amount <= threshold)
          throw badRequest(
            "AUTO_TOPUP_AMOUNT_TOO_SMALL",
            "amountUsd must be larger than thresholdUsd, so that one top-up lifts the balance back above the threshold.",
          );
        const customer = await repo.customerOf(db, ctx.orgId);
        if (!customer || !(await defaultMethod(customer))) {
          throw conflict(
            "NO_DEFAULT_PAYMENT_METHOD",
            "Add a card and make it the default payment method before turning on auto top-up.",
          );
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

export type PaymentsService = ReturnType<typeof createPaymentsService>;
