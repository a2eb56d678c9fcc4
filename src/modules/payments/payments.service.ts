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
 *
 * The pieces: payments.checkout.ts (top-ups), payments.methods.ts (cards),
 * payments.autotopup.ts (settings and the runner), payments.shared.ts (the
 * organization's Stripe customer, bounds, the Stripe actor).
 */
import { createAutoTopup, creditAutoTopup } from "./payments.autotopup.js";
import { createCheckout } from "./payments.checkout.js";
import { createPaymentMethods } from "./payments.methods.js";
import { createStripeAccess, type PaymentsDeps } from "./payments.shared.js";

export type { PaymentsDeps } from "./payments.shared.js";

export function createPaymentsService(deps: PaymentsDeps) {
  const stripeAccess = createStripeAccess(deps);
  return {
    creditAutoTopup,
    ...createCheckout(deps, stripeAccess),
    ...createPaymentMethods(deps, stripeAccess),
    ...createAutoTopup(deps, stripeAccess),
  };
}

export type PaymentsService = ReturnType<typeof createPaymentsService>;
