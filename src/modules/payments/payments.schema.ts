/**
 * Payments API bodies and responses (the tables live in billing.schema.ts:
 * billing_customers, billing_payments, stripe_events, billing_settings,
 * billing_events_fired). Money in: a USD decimal string or number, parsed
 * exactly (platform/money.ts); money out: `<name>MicroUsd` + `<name>Usd`.
 */
import { z } from "zod";
import { moneyFields } from "../../platform/money-fields.js";
import { usdField } from "../../platform/money-input.js";
import { orgParams } from "../../platform/routes.js";

/** Credit packs offered on the billing page (USD). */
export const CREDIT_PACKS_USD = ["10", "25", "50", "100"] as const;
/** Bounds of a custom top-up, checkout and auto top-up alike (USD, whole cents). */
export const MIN_TOPUP_USD = "5";
export const MAX_TOPUP_USD = "10000";

const usdAmount = usdField({ max: "1000000000", decimals: 2 }).describe('USD, e.g. "25" or "12.50" (whole cents).');

export const checkoutBody = z.strictObject({ amountUsd: usdAmount });
export const checkoutOut = z.object({ id: z.string(), url: z.string() });

export const checkoutOptionsOut = z.object({
  stripeConfigured: z.boolean(),
  packsUsd: z.array(z.string()),
  minUsd: z.string(),
  maxUsd: z.string(),
  currency: z.literal("usd"),
  addCredits: z.string(),
});

/** Stripe ids we accept in paths: a fixed prefix and a safe alphabet (never a path or query fragment). */
export const paymentMethodParams = orgParams.extend({
  id: z.string().regex(/^pm_[A-Za-z0-9_]{1,200}$/, "Not a payment method id (pm_…)."),
});

export const paymentMethodOut = z.object({
  id: z.string(),
  type: z.string(),
  brand: z.string().nullable(),
  last4: z.string().nullable(),
  expMonth: z.number().nullable(),
  expYear: z.number().nullable(),
  isDefault: z.boolean(),
});
export const paymentMethodsOut = z.object({ stripeConfigured: z.boolean(), paymentMethods: z.array(paymentMethodOut) });

export const autoTopupBody = z.strictObject({
  enabled: z.boolean(),
  thresholdUsd: usdAmount.optional(),
  amountUsd: usdAmount.optional(),
});
export const autoTopupOut = z.object({
  enabled: z.boolean(),
  ...moneyFields("threshold", { nullable: true }),
  ...moneyFields("amount", { nullable: true }),
  stripeConfigured: z.boolean(),
  minUsd: z.string(),
  maxUsd: z.string(),
});

export const webhookOut = z.object({ received: z.literal(true), duplicate: z.boolean() });

export type AutoTopupBody = z.infer<typeof autoTopupBody>;
