import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import {
  alertSettingsBody,
  alertSettingsOut,
  alertSettingsSaved,
  subscriptionOut,
  testAlertOut,
} from "./alerts.schema.js";
import type { AlertService } from "./alerts.service.js";

export function registerAlertRoutes(app: FastifyInstance, deps: { alerts: AlertService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.alerts;
  const tags = ["billing"];
  const read = { access: { kind: "org" as const, permission: ["billing", "read"] as ["billing", "read"] } };
  const manage = { access: { kind: "org" as const, permission: ["billing", "manage"] as ["billing", "manage"] } };
  const path = "/api/v1/orgs/:org/billing/alerts";
  // These take no input: an empty (or no) body; anything else is refused.
  const none = z.strictObject({}).nullish();

  r.get(
    path,
    {
      config: read,
      schema: {
        tags,
        summary: "Billing alert settings: low-balance threshold, monthly budget, webhook (secret shown as a hint)",
        params: orgParams,
        response: { 200: alertSettingsOut },
      },
    },
    async (req) => svc.get(orgOf(req)),
  );

  r.put(
    path,
    {
      config: manage,
      schema: {
        tags,
        summary:
          "Set billing alerts (owner). A new webhook URL (or rotateWebhookSecret) returns its signing secret once, in this response",
        params: orgParams,
        body: alertSettingsBody,
        response: { 200: alertSettingsSaved },
      },
    },
    async (req) => svc.save(orgOf(req), req.body),
  );

  r.post(
    `${path}/test`,
    {
      config: manage,
      schema: {
        tags,
        summary: "Send a test alert to the alert emails and the webhook (owner)",
        params: orgParams,
        body: none,
        response: { 200: testAlertOut },
      },
    },
    async (req) => svc.test(orgOf(req)),
  );

  r.put(
    `${path}/subscription`,
    {
      config: read,
      schema: {
        tags,
        summary: "Receive billing alert emails yourself (admins opt in; the owner always receives them)",
        params: orgParams,
        body: none,
        response: { 200: subscriptionOut },
      },
    },
    async (req) => svc.subscribe(orgOf(req)),
  );

  r.delete(
    `${path}/subscription`,
    {
      config: read,
      schema: {
        tags,
        summary: "Stop receiving billing alert emails yourself (admins)",
        params: orgParams,
        body: none,
        response: { 200: subscriptionOut },
      },
    },
    async (req) => svc.unsubscribe(orgOf(req)),
  );
}
