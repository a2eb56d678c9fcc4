/**
 * Saved payment methods: list, add (a Stripe Checkout setup session), remove
 * and make default — only ever the organization's own customer's cards.
 */
import type Stripe from "stripe";
import type { OrgContext } from "../../platform/auth/guard.js";
import { recordAudit } from "../../platform/audit.js";
import { assertCan } from "../../platform/permissions.js";
import * as repo from "./payments.repo.js";
import { actorOf, type PaymentsDeps, type StripeAccess } from "./payments.shared.js";
import { stripeFailure } from "./stripe.client.js";

const describe = (pm: Stripe.PaymentMethod, def: string | null) => ({
  id: pm.id,
  type: pm.type,
  brand: pm.card?.brand ?? null,
  last4: pm.card?.last4 ?? null,
  expMonth: pm.card?.exp_month ?? null,
  expYear: pm.card?.exp_year ?? null,
  isDefault: pm.id === def,
});

export function createPaymentMethods(deps: PaymentsDeps, stripeAccess: StripeAccess) {
  const { db } = deps;
  const { billingPage, call, defaultMethod, ensureCustomer, ownedMethod, requireStripe } = stripeAccess;

  return {
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
  };
}
