/**
 * What the payments files share (checkout, payment methods, auto top-up): the
 * dependencies, the top-up bounds, the Stripe actor, and the calls on the
 * organization's Stripe customer (created on first use, every failure logged
 * and answered as a Stripe error).
 */
import type Stripe from "stripe";
import type { Logger } from "pino";
import type { OrgContext } from "../../platform/auth/guard.js";
import type { AuditActor } from "../../platform/audit.js";
import type { Db } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { formatUsd, parseUsd } from "../../platform/money.js";
import * as repo from "./payments.repo.js";
import { MAX_TOPUP_USD, MIN_TOPUP_USD } from "./payments.schema.js";
import { isStripeError, stripeFailure } from "./stripe.client.js";

export interface PaymentsDeps {
  db: Db;
  stripe: Stripe | null;
  publicUrl: string;
  log: Logger;
  /** Tells the gateway's credit store that an org's balance changed (a credit). */
  onCredited(orgId: string): void;
}

export const MICRO_PER_CENT = 10_000n;
export const MIN_TOPUP = parseUsd(MIN_TOPUP_USD);
export const MAX_TOPUP = parseUsd(MAX_TOPUP_USD);
/** Webhooks and the auto top-up runner act as Stripe in the audit log and the ledger. */
export const STRIPE_ACTOR: AuditActor = { userId: null, email: "stripe", ip: null };

export const NOT_CONFIGURED =
  "Payments are not configured on this instance (no STRIPE_SECRET_KEY). The instance operator can grant credits: tollgate credits grant --org <slug> --usd <amount> --note <text>.";
export const stripeNotConfigured = () => appError("STRIPE_NOT_CONFIGURED", NOT_CONFIGURED);

export const actorOf = (ctx: OrgContext): AuditActor => ({ userId: ctx.userId, email: ctx.email, ip: ctx.ip });
export const idOf = (v: string | { id: string } | null | undefined) => (typeof v === "string" ? v : (v?.id ?? null));

/** A top-up amount (already exact USD in whole cents: the body schema checks the form) within [MIN, MAX]. */
export function checkTopupAmount(amount: bigint, field: string, bounds = { min: MIN_TOPUP, max: MAX_TOPUP }): bigint {
  if (amount < bounds.min || amount > bounds.max) {
    throw appError(
      "AMOUNT_OUT_OF_RANGE",
      `${field} must be between $${formatUsd(bounds.min)} and $${formatUsd(bounds.max)}.`,
    );
  }
  return amount;
}

/** The organization's side of Stripe: its customer, its default card, its payment methods. */
export function createStripeAccess(deps: PaymentsDeps) {
  const { db, log } = deps;
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
    const missing = appError("PAYMENT_METHOD_NOT_FOUND");
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

  return { billingPage, requireStripe, call, ensureCustomer, defaultMethod, ownedMethod };
}

export type StripeAccess = ReturnType<typeof createStripeAccess>;
