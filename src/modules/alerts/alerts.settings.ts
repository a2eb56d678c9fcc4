/** Billing alert settings: reading and saving the thresholds and webhook, and admins' opt-in to the alert emails. */
import { validateBaseUrl } from "../../gateway/net/ssrf.js";
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { randomToken } from "../../platform/crypto.js";
import { appError } from "../../platform/errors.js";
import { monthKey } from "../../platform/calendar.js";
import { formatUsd } from "../../platform/money.js";
import { moneyValues } from "../../platform/money-fields.js";
import { assertCan } from "../../platform/permissions.js";
import * as repo from "./alerts.repo.js";
import { type AlertSettingsInput, BUDGET_STEPS } from "./alerts.schema.js";
import { type AlertServiceDeps, sealContext } from "./alerts.shared.js";

const MAX_USD = 1_000_000_000n * 1_000_000n;

function checkThreshold(field: string, micro: bigint | null): bigint | null {
  if (micro === null) return null;
  if (micro <= 0n || micro > MAX_USD)
    throw appError("INVALID_AMOUNT", `${field} must be more than 0 (or null to turn the alert off).`);
  return micro;
}

/** A webhook URL (billing alerts, log destinations) that passes the SSRF checks, normalised; else a 400 WEBHOOK_URL_*. */
export function checkWebhookUrl(url: string, allowedHosts: readonly string[]): string {
  const check = validateBaseUrl(url, allowedHosts);
  if (check.ok) return check.url.toString();
  const messages: Record<typeof check.code, string> = {
    invalid_url: "The webhook URL is not a valid URL.",
    unsupported_scheme: "The webhook URL must use https (or http).",
    credentials_in_url: "The webhook URL must not contain a user name or password.",
    forbidden_address: "The webhook URL points to a link-local, metadata or reserved address.",
    private_address:
      "The webhook URL points to a private or loopback address; an operator must allow it in TOLLGATE_ALLOWED_PROVIDER_HOSTS.",
  };
  throw appError(`WEBHOOK_URL_${check.code.toUpperCase() as Uppercase<typeof check.code>}`, messages[check.code]);
}

export function createAlertSettings(
  deps: AlertServiceDeps,
  now: () => Date,
  background: { evaluate: (orgIds: string[]) => Promise<void>; track: <T>(p: Promise<T>) => Promise<T> },
) {
  const { db } = deps;
  const { evaluate, track } = background;

  function secretHint(row: repo.AlertSettingsRow | null): string | null {
    if (!row?.alertWebhookSecretCiphertext) return null;
    try {
      const secret = deps.box.open(row.alertWebhookSecretCiphertext, sealContext(row.orgId));
      return `whsec_…${secret.slice(-4)}`;
    } catch {
      return "(unreadable: generate a new secret)";
    }
  }

  async function view(ctx: OrgContext, row: repo.AlertSettingsRow | null) {
    return {
      ...moneyValues("lowBalance", row?.lowBalanceAlertMicroUsd ?? null),
      ...moneyValues("monthlyBudget", row?.monthlyBudgetMicroUsd ?? null),
      webhookUrl: row?.alertWebhookUrl ?? null,
      webhookSecretHint: secretHint(row),
      emailMe: ctx.role === "owner" || (await repo.isSubscribed(db, ctx.orgId, ctx.userId)),
      updatedAt: row?.updatedAt.toISOString() ?? null,
    };
  }

  return {
    async get(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      return view(ctx, await repo.getSettings(db, ctx.orgId));
    },

    async save(ctx: OrgContext, body: AlertSettingsInput) {
      assertCan(ctx, "billing", "manage");
      if (deps.credits === false && body.lowBalanceUsd !== null) {
        throw appError(
          "LOW_BALANCE_ALERT_UNAVAILABLE",
          "Prepaid credits are off on this instance (TOLLGATE_BILLING=off), so there is no balance to alert on: send lowBalanceUsd: null. The monthly budget alerts still work.",
        );
      }
      const low = checkThreshold("lowBalanceUsd", body.lowBalanceUsd);
      const budget = checkThreshold("monthlyBudgetUsd", body.monthlyBudgetUsd);
      const url = body.webhookUrl ? checkWebhookUrl(body.webhookUrl, deps.allowedHosts) : null;
      let newSecret: string | null = null;
      const row = await db.transaction(async (tx) => {
        const prev = await repo.lockSettings(tx, ctx.orgId);
        const urlChanged = url !== (prev?.alertWebhookUrl ?? null);
        let ciphertext: string | null = null;
        if (url && (urlChanged || body.rotateWebhookSecret || !prev?.alertWebhookSecretCiphertext)) {
          newSecret = `whsec_${randomToken(32)}`;
          ciphertext = deps.box.seal(newSecret, sealContext(ctx.orgId));
        } else if (url) ciphertext = prev!.alertWebhookSecretCiphertext;
        const saved = await repo.saveSettings(tx, ctx.orgId, {
          lowBalanceAlertMicroUsd: low,
          monthlyBudgetMicroUsd: budget,
          alertWebhookUrl: url,
          alertWebhookSecretCiphertext: ciphertext,
        });
        const lowChanged = low !== (prev?.lowBalanceAlertMicroUsd ?? null);
        const budgetChanged = budget !== (prev?.monthlyBudgetMicroUsd ?? null);
        if (lowChanged)
          await repo.rearm(tx, ctx.orgId, ["low_balance"], (await repo.account(tx, ctx.orgId)).creditSeq.toString());
        if (budgetChanged)
          await repo.rearm(
            tx,
            ctx.orgId,
            BUDGET_STEPS.map((s) => s.event),
            monthKey(now()),
          );
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "billing.alerts_updated",
          targetType: "billing_settings",
          targetId: ctx.orgId,
          metadata: {
            lowBalanceUsd: low === null ? null : formatUsd(low),
            monthlyBudgetUsd: budget === null ? null : formatUsd(budget),
            // The host only: a webhook URL's path can itself be a credential.
            webhookHost: url ? new URL(url).host : null,
            webhookChanged: urlChanged,
            webhookSecretGenerated: newSecret !== null,
          },
        });
        return saved;
      });
      // A condition that already holds under the new settings fires now (in the background).
      void track(evaluate([ctx.orgId]));
      return { ...(await view(ctx, row)), webhookSecret: newSecret as string | null };
    },

    async subscribe(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      await db.transaction(async (tx) => {
        if (await repo.subscribe(tx, ctx.orgId, ctx.userId)) {
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "billing.alerts_subscribed",
            targetType: "user",
            targetId: ctx.userId,
          });
        }
      });
      return { emailMe: true };
    },

    async unsubscribe(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      if (ctx.role === "owner") {
        throw appError("OWNER_ALWAYS_NOTIFIED");
      }
      await db.transaction(async (tx) => {
        if (await repo.unsubscribe(tx, ctx.orgId, ctx.userId)) {
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "billing.alerts_unsubscribed",
            targetType: "user",
            targetId: ctx.userId,
          });
        }
      });
      return { emailMe: false };
    },
  };
}
