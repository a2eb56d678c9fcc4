/**
 * Checkout top-ups: the packs and bounds offered, and a Stripe Checkout
 * session for one amount (recorded as an open payment; the webhook credits it
 * once Stripe confirms the payment).
 */
import type { OrgContext } from "../../platform/auth/guard.js";
import { recordAudit } from "../../platform/audit.js";
import { formatUsd } from "../../platform/money.js";
import { moneyValues } from "../../platform/money-fields.js";
import { assertCan } from "../../platform/permissions.js";
import * as repo from "./payments.repo.js";
import { CREDIT_PACKS_USD } from "./payments.schema.js";
import {
  actorOf,
  checkTopupAmount,
  MAX_TOPUP,
  MICRO_PER_CENT,
  MIN_TOPUP,
  NOT_CONFIGURED,
  type PaymentsDeps,
  type StripeAccess,
} from "./payments.shared.js";
import { stripeFailure } from "./stripe.client.js";

export function createCheckout(deps: PaymentsDeps, stripeAccess: StripeAccess) {
  const { db } = deps;
  const { billingPage, call, ensureCustomer, requireStripe } = stripeAccess;

  return {
    async checkoutOptions(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      return {
        stripeConfigured: Boolean(deps.stripe),
        packsUsd: [...CREDIT_PACKS_USD],
        minUsd: formatUsd(MIN_TOPUP),
        maxUsd: formatUsd(MAX_TOPUP),
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
          metadata: moneyValues("amount", amount),
        });
      });
      return { id: session.id, url: session.url };
    },
  };
}
