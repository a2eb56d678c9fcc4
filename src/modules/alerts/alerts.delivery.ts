/** Billing alert delivery: each alert's text and payload, sent to the recipients by email and to the signed webhook. */
import { validateBaseUrl } from "../../gateway/net/ssrf.js";
import { formatUsd } from "../../platform/money.js";
import { moneyValues } from "../../platform/money-fields.js";
import type { WebhookResult } from "./alerts.notifier.js";
import * as repo from "./alerts.repo.js";
import { type AlertServiceDeps, type Fired, type Org, sealContext } from "./alerts.shared.js";

/** "4.200000" → "4.20", "0.000123" stays: amounts read by people. */
const usd = (micro: bigint) => formatUsd(micro).replace(/(\.\d\d\d*?)0+$/, "$1");

export function createAlertDelivery(deps: AlertServiceDeps, now: () => Date) {
  const { db, log } = deps;

  function describe(org: Org, f: Fired): { subject: string; text: string; payload: Record<string, unknown> } {
    const link = `${deps.publicUrl}/${org.slug}/settings/billing`;
    const firedAt = now().toISOString();
    const base = {
      type: f.event,
      id: `${org.slug}:${f.event}:${f.period}`,
      orgSlug: org.slug,
      orgName: org.name,
      period: f.period,
      dashboardUrl: link,
      firedAt,
    };
    const footer = `\nBilling page: ${link}\n\nYou receive this as the owner of "${org.name}", or as an admin who turned on billing alert emails.\n`;
    if (f.event === "low_balance") {
      return {
        subject: `Tollgate: ${org.name} balance is $${usd(f.balance!)}, below your $${usd(f.threshold!)} alert`,
        text:
          `The credit balance of "${org.name}" fell to $${usd(f.balance!)}, below the low-balance alert of $${usd(f.threshold!)}.\n` +
          `Requests are refused with 402 insufficient_credits once the balance cannot cover them. Add credits to keep traffic flowing.\n` +
          `This alert fires once; it re-arms when credits are added.\n` +
          footer,
        payload: { ...base, ...moneyValues("balance", f.balance!), ...moneyValues("threshold", f.threshold!) },
      };
    }
    if (f.event === "test") {
      return {
        subject: `Tollgate: test billing alert for ${org.name}`,
        text:
          `This is a test of the billing alerts of "${org.name}". Alerts are set up correctly if you received it.\n` +
          footer,
        payload: { ...base, test: true },
      };
    }
    return {
      subject: `Tollgate: ${org.name} has used ${f.percent}% of its $${usd(f.budget!)} monthly budget`,
      text:
        `"${org.name}" has spent $${usd(f.spend!)} in ${f.period} (UTC), ${f.percent === 100n ? "reaching" : "over"} ${f.percent}% of its monthly budget of $${usd(f.budget!)}.\n` +
        `The budget only alerts: requests are not refused because of it (projects can have hard monthly spend caps).\n` +
        `This alert fires once per month.\n` +
        footer,
      payload: {
        ...base,
        budgetPercent: Number(f.percent),
        ...moneyValues("monthSpend", f.spend!),
        ...moneyValues("monthlyBudget", f.budget!),
      },
    };
  }

  /** Emails the recipients and posts the webhook. Never throws. */
  async function deliver(
    org: Org,
    settings: repo.AlertSettingsRow | null,
    f: Fired,
  ): Promise<{ emails: string[]; webhook: WebhookResult | null }> {
    const context = { orgId: org.id, alert: f.event, period: f.period };
    try {
      const msg = describe(org, f);
      const to = await repo.recipients(db, org.id);
      const emails = await deps.notifier.sendMail(
        to.map((r) => ({ to: r.email, subject: msg.subject, text: msg.text })),
        context,
      );
      let webhook: WebhookResult | null = null;
      if (settings?.alertWebhookUrl && settings.alertWebhookSecretCiphertext) {
        const check = validateBaseUrl(settings.alertWebhookUrl, deps.allowedHosts);
        if (!check.ok) {
          log.error(
            { ...context, code: check.code },
            "billing alert webhook skipped: its URL no longer passes the SSRF checks",
          );
          webhook = {
            delivered: false,
            status: null,
            attempts: 0,
            error: "the webhook URL is not allowed (SSRF checks)",
          };
        } else {
          let secret: string | null = null;
          try {
            secret = deps.box.open(settings.alertWebhookSecretCiphertext, sealContext(org.id));
          } catch {
            log.error(context, "billing alert webhook skipped: its signing secret cannot be read (generate a new one)");
            webhook = {
              delivered: false,
              status: null,
              attempts: 0,
              error: "the signing secret cannot be read; generate a new one",
            };
          }
          if (secret !== null)
            webhook = await deps.notifier.postWebhook({ url: settings.alertWebhookUrl, secret }, msg.payload, context);
        }
      }
      log.info({ ...context, emails: emails.length, webhook: webhook?.delivered ?? null }, "billing alert sent");
      return { emails, webhook };
    } catch (err) {
      log.error({ ...context, err: (err as Error).message }, "billing alert delivery failed");
      return { emails: [], webhook: null };
    }
  }

  return { deliver };
}

export type AlertDeliver = ReturnType<typeof createAlertDelivery>["deliver"];
