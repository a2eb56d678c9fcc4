/**
 * Billing alerts: request/response shapes. The tables (`billing_settings`,
 * `billing_alert_subscribers`, `billing_events_fired`) are defined with the
 * rest of billing in `billing.schema.ts`; this module owns their alert columns.
 */
import { z } from "zod";
import { moneyFields } from "../../platform/money-fields.js";
import { usdField } from "../../platform/money-input.js";

export const ALERT_EVENTS = ["low_balance", "budget_50", "budget_80", "budget_100"] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];
export const BUDGET_STEPS: ReadonlyArray<{ event: AlertEvent; percent: bigint }> = [
  { event: "budget_50", percent: 50n },
  { event: "budget_80", percent: 80n },
  { event: "budget_100", percent: 100n },
];

const usdAmount = usdField({ max: "1000000000" }).describe('USD with at most 6 decimals, e.g. "25" or "12.50".');

export const alertSettingsBody = z.strictObject({
  lowBalanceUsd: usdAmount
    .nullable()
    .describe(
      "Alert when the balance falls below this amount (null: off). Must be null when prepaid credits are off (TOLLGATE_BILLING=off): 400 LOW_BALANCE_ALERT_UNAVAILABLE.",
    ),
  monthlyBudgetUsd: usdAmount.nullable().describe("Alert at 50, 80 and 100 % of this monthly spend (null: off)."),
  webhookUrl: z.string().trim().max(2000).nullable().describe("POST each alert here, signed (null: no webhook)."),
  rotateWebhookSecret: z.boolean().optional().describe("Generate a new signing secret for the same URL."),
});
export type AlertSettingsInput = z.infer<typeof alertSettingsBody>;

export const alertSettingsOut = z.object({
  ...moneyFields("lowBalance", { nullable: true }),
  ...moneyFields("monthlyBudget", { nullable: true }),
  webhookUrl: z.string().nullable(),
  webhookSecretHint: z
    .string()
    .nullable()
    .describe("The end of the signing secret; the secret itself is shown once, when it is generated."),
  emailMe: z.boolean().describe("Whether the caller receives alert emails (always true for the owner)."),
  updatedAt: z.string().nullable(),
});

export const alertSettingsSaved = alertSettingsOut.extend({
  webhookSecret: z
    .string()
    .nullable()
    .describe("The new signing secret — shown only in this response. Null when unchanged."),
});

export const testAlertOut = z.object({
  emails: z.array(z.string()).describe("Addresses the test alert was sent to."),
  webhook: z
    .object({
      delivered: z.boolean(),
      status: z.number().nullable(),
      attempts: z.number(),
      error: z.string().nullable(),
    })
    .nullable(),
});

export const subscriptionOut = z.object({ emailMe: z.boolean() });
