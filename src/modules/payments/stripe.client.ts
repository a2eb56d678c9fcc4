/**
 * The one place a Stripe client is made. `STRIPE_API_URL` points the real SDK
 * at another host (the loopback fake in tests, stripe-mock, a proxy); without
 * `STRIPE_SECRET_KEY` there is no client and payments answer
 * STRIPE_NOT_CONFIGURED. The secret key never leaves this object: it is not
 * logged, and Stripe errors are mapped to our own messages before they reach
 * a client (see `stripeFailure`).
 */
import Stripe from "stripe";
import { type AppError, appError } from "../../platform/errors.js";

export interface StripeSettings {
  secretKey?: string;
  webhookSecret?: string;
  apiUrl?: string;
}

export function createStripeClient(settings: StripeSettings): Stripe | null {
  if (!settings.secretKey) return null;
  const base: ConstructorParameters<typeof Stripe>[1] = {
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: "Tollgate" },
  };
  if (settings.apiUrl) {
    const u = new URL(settings.apiUrl);
    const protocol = u.protocol === "http:" ? "http" : "https";
    base.host = u.hostname;
    base.port = u.port || (protocol === "http" ? "80" : "443");
    base.protocol = protocol;
  }
  return new Stripe(settings.secretKey, base);
}

/** Webhook signature helpers work without an API key (tests sign payloads with them too). */
export const stripeWebhooks = Stripe.webhooks;

export function isStripeError(err: unknown): err is Stripe.errors.StripeError {
  return err instanceof Stripe.errors.StripeError;
}

/** A Stripe API failure as a public error: 502, our words, no Stripe request details or keys. */
export function stripeFailure(err: unknown, what: string): AppError {
  if (isStripeError(err) && err.type === "StripeCardError") {
    return appError("PAYMENT_DECLINED", `The payment was declined: ${err.message}`);
  }
  return appError(
    "PAYMENT_PROVIDER_ERROR",
    `Stripe could not ${what} right now. Try again in a minute; nothing was charged by this attempt.`,
  );
}
