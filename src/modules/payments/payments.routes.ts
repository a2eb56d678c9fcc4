import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import {
  autoTopupBody,
  autoTopupOut,
  checkoutBody,
  checkoutOptionsOut,
  checkoutOut,
  paymentMethodOut,
  paymentMethodParams,
  paymentMethodsOut,
  webhookOut,
} from "./payments.schema.js";
import type { PaymentsService } from "./payments.service.js";
import type { WebhookHandler } from "./payments.webhooks.js";

export function registerPaymentRoutes(
  app: FastifyInstance,
  deps: { payments: PaymentsService; webhook: WebhookHandler },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.payments;
  const tags = ["billing"];
  const read = { access: { kind: "org" as const, permission: ["billing", "read"] as ["billing", "read"] } };
  const manage = { access: { kind: "org" as const, permission: ["billing", "manage"] as ["billing", "manage"] } };
  const session = z.object({ id: z.string(), url: z.string() });

  r.get(
    "/api/v1/orgs/:org/billing/checkout",
    {
      config: read,
      schema: {
        tags,
        summary: "Credit packs, custom amount bounds, and whether card payments are configured",
        params: orgParams,
        response: { 200: checkoutOptionsOut },
      },
    },
    async (req) => svc.checkoutOptions(orgOf(req)),
  );

  r.post(
    "/api/v1/orgs/:org/billing/checkout",
    {
      config: manage,
      schema: {
        tags,
        summary:
          "Start a Stripe Checkout top-up (a pack or a custom amount); redirect the user to the returned URL. Credits arrive with the payment webhook.",
        params: orgParams,
        body: checkoutBody,
        response: { 201: checkoutOut },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.checkout(orgOf(req), req.body)),
  );

  r.get(
    "/api/v1/orgs/:org/billing/payment-methods",
    {
      config: read,
      schema: {
        tags,
        summary: "Saved payment methods of the organization (the default one is charged by auto top-up)",
        params: orgParams,
        response: { 200: paymentMethodsOut },
      },
    },
    async (req) => svc.listPaymentMethods(orgOf(req)),
  );

  r.post(
    "/api/v1/orgs/:org/billing/payment-methods/setup",
    {
      config: manage,
      schema: {
        tags,
        summary: "Add a card: returns a Stripe Checkout (setup mode) URL",
        params: orgParams,
        response: { 201: session },
      },
    },
    async (req, reply) => reply.status(201).send(await svc.setupPaymentMethod(orgOf(req))),
  );

  r.delete(
    "/api/v1/orgs/:org/billing/payment-methods/:id",
    {
      config: manage,
      schema: { tags, summary: "Remove a saved payment method", params: paymentMethodParams },
    },
    async (req, reply) => {
      await svc.removePaymentMethod(orgOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  r.post(
    "/api/v1/orgs/:org/billing/payment-methods/:id/default",
    {
      config: manage,
      schema: {
        tags,
        summary: "Make a saved payment method the default",
        params: paymentMethodParams,
        response: { 200: paymentMethodOut },
      },
    },
    async (req) => svc.setDefaultPaymentMethod(orgOf(req), req.params.id),
  );

  r.get(
    "/api/v1/orgs/:org/billing/auto-topup",
    {
      config: read,
      schema: { tags, summary: "Auto top-up settings", params: orgParams, response: { 200: autoTopupOut } },
    },
    async (req) => svc.getAutoTopup(orgOf(req)),
  );

  r.put(
    "/api/v1/orgs/:org/billing/auto-topup",
    {
      config: manage,
      schema: {
        tags,
        summary:
          "Turn auto top-up on or off: when the balance falls below thresholdUsd, charge the default card amountUsd (once per crossing)",
        params: orgParams,
        body: autoTopupBody,
        response: { 200: autoTopupOut },
      },
    },
    async (req) => svc.setAutoTopup(orgOf(req), req.body),
  );

  // The webhook reads its body as raw bytes (the signature covers them exactly), so it lives in its own
  // encapsulated scope: the raw parser applies to this route only. No session, no CSRF (exempt prefix in app.ts).
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 1024 * 1024 }, (_req, body, done) =>
      done(null, body),
    );
    scope.withTypeProvider<ZodTypeProvider>().post(
      "/api/v1/webhooks/stripe",
      {
        config: { access: { kind: "public" } },
        schema: {
          tags: ["webhooks"],
          summary: "Stripe webhook endpoint (signed with STRIPE_WEBHOOK_SECRET; idempotent by event id)",
          response: { 200: webhookOut },
        },
      },
      async (req) => {
        const sig = req.headers["stripe-signature"];
        const res = await deps.webhook(req.body as Buffer, typeof sig === "string" ? sig : undefined);
        return { received: true as const, duplicate: res.duplicate };
      },
    );
  });
}
