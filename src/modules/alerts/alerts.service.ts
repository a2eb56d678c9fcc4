/**
 * Billing alerts (owner manages; admins read and opt in to the emails).
 * Invariants:
 *  - an alert fires once per crossing: the winner of the insert into
 *    `billing_events_fired` (org, event, period) sends, every other
 *    evaluation (other replicas, concurrent flushes) does nothing. The period
 *    is the account's credit_seq for `low_balance` (any top-up, grant, refund
 *    or adjustment re-arms it) and the UTC month "YYYY-MM" for `budget_*`;
 *  - changing a threshold re-arms that alert for the current period, and the
 *    org is evaluated right after a save: a condition that already holds
 *    (e.g. a budget lowered below this month's spend) fires at once;
 *  - several budget steps crossed by one evaluation are all marked fired, and
 *    one alert is sent: the highest step;
 *  - delivery is at most once (claimed, then sent, after commit); it never
 *    throws into the gateway's flush; failures are logged without secrets;
 *  - the webhook secret is generated here, returned once, stored sealed
 *    (secretbox, bound to the org) and never in audit rows or logs; the
 *    webhook URL is SSRF-checked when saved and again before each send.
 */
import type { Logger } from "pino";
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { randomToken } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import { badRequest } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { assertCan } from "../../platform/permissions.js";
import type { SecretBox } from "../../platform/secretbox.js";
import { validateBaseUrl } from "../../gateway/net/ssrf.js";
import type { Notifier, WebhookResult } from "./alerts.notifier.js";
import * as repo from "./alerts.repo.js";
import { type AlertEvent, type AlertSettingsInput, BUDGET_STEPS } from "./alerts.schema.js";

export interface AlertServiceDeps {
  db: Db;
  box: SecretBox;
  notifier: Notifier;
  publicUrl: string;
  allowedHosts: readonly string[];
  log: Logger;
  now?: () => Date;
  /** false with TOLLGATE_BILLING=off: there is no prepaid balance, so no low-balance alert (default true). */
  credits?: boolean;
}

type Org = { id: string; slug: string; name: string };
type Fired = {
  event: AlertEvent | "test";
  period: string;
  balance?: bigint;
  threshold?: bigint;
  spend?: bigint;
  budget?: bigint;
  percent?: bigint;
};

const MAX_USD = 1_000_000_000n * 1_000_000n;
const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
const monthKey = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
const sealContext = (orgId: string) => `billing-alert-webhook:${orgId}`;
/** "4.200000" → "4.20", "0.000123" stays: amounts read by people. */
const usd = (micro: bigint) => formatUsd(micro).replace(/(\.\d\d\d*?)0+$/, "$1");
const money = (name: string, v: bigint | null) => ({
  [`${name}MicroUsd`]: v === null ? null : v.toString(),
  [`${name}Usd`]: v === null ? null : formatUsd(v),
});

function checkThreshold(field: string, micro: bigint | null): bigint | null {
  if (micro === null) return null;
  if (micro <= 0n || micro > MAX_USD)
    throw badRequest("INVALID_AMOUNT", `${field} must be more than 0 (or null to turn the alert off).`);
  return micro;
}

export function createAlertService(deps: AlertServiceDeps) {
  const { db, log } = deps;
  const now = deps.now ?? (() => new Date());
  const pending = new Set<Promise<unknown>>();
  // Events this process saw claimed (by anyone), per settings version: while a balance stays
  // below its threshold, each flush skips the insert. A save re-arms by deleting rows and
  // bumps updated_at, so a re-armed event has a new key here on every replica.
  const claimed = new Set<string>();
  async function claim(settings: repo.AlertSettingsRow, event: AlertEvent, period: string): Promise<boolean> {
    const k = `${settings.orgId}|${event}|${period}|${settings.updatedAt.getTime()}`;
    if (claimed.has(k)) return false;
    const won = await repo.claimEvent(db, settings.orgId, event, period);
    if (claimed.size >= 50_000) claimed.clear();
    claimed.add(k);
    return won;
  }
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

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
      ...money("lowBalance", row?.lowBalanceAlertMicroUsd ?? null),
      ...money("monthlyBudget", row?.monthlyBudgetMicroUsd ?? null),
      webhookUrl: row?.alertWebhookUrl ?? null,
      webhookSecretHint: secretHint(row),
      emailMe: ctx.role === "owner" || (await repo.isSubscribed(db, ctx.orgId, ctx.userId)),
      updatedAt: row?.updatedAt.toISOString() ?? null,
    } as {
      lowBalanceMicroUsd: string | null;
      lowBalanceUsd: string | null;
      monthlyBudgetMicroUsd: string | null;
      monthlyBudgetUsd: string | null;
      webhookUrl: string | null;
      webhookSecretHint: string | null;
      emailMe: boolean;
      updatedAt: string | null;
    };
  }

  function checkWebhookUrl(url: string): string {
    const check = validateBaseUrl(url, deps.allowedHosts);
    if (check.ok) return check.url.toString();
    const messages: Record<typeof check.code, string> = {
      invalid_url: "The webhook URL is not a valid URL.",
      unsupported_scheme: "The webhook URL must use https (or http).",
      credentials_in_url: "The webhook URL must not contain a user name or password.",
      forbidden_address: "The webhook URL points to a link-local, metadata or reserved address.",
      private_address:
        "The webhook URL points to a private or loopback address; an operator must allow it in TOLLGATE_ALLOWED_PROVIDER_HOSTS.",
    };
    throw badRequest(`WEBHOOK_URL_${check.code.toUpperCase()}`, messages[check.code]);
  }

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
        payload: { ...base, ...money("balance", f.balance!), ...money("threshold", f.threshold!) },
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
        ...money("monthSpend", f.spend!),
        ...money("monthlyBudget", f.budget!),
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

  /** Checks the thresholds of one org and fires what this caller won. */
  async function evaluateOrg(settings: repo.AlertSettingsRow): Promise<void> {
    const orgId = settings.orgId;
    const fired: Fired[] = [];
    // Without prepaid credits the balance only ever falls: a threshold kept from before would fire forever.
    const threshold = deps.credits === false ? null : settings.lowBalanceAlertMicroUsd;
    if (threshold !== null) {
      const acct = await repo.account(db, orgId);
      const period = acct.creditSeq.toString();
      if (acct.balanceMicroUsd < threshold && (await claim(settings, "low_balance", period))) {
        fired.push({ event: "low_balance", period, balance: acct.balanceMicroUsd, threshold });
      }
    }
    const budget = settings.monthlyBudgetMicroUsd;
    if (budget !== null && budget > 0n) {
      const at = now();
      const period = monthKey(at);
      const spend = await repo.spendSince(db, orgId, monthStart(at));
      let top: Fired | null = null;
      for (const step of BUDGET_STEPS) {
        if (spend * 100n < budget * step.percent) break;
        if (await claim(settings, step.event, period))
          top = { event: step.event, period, spend, budget, percent: step.percent };
      }
      if (top) fired.push(top);
    }
    if (fired.length === 0) return;
    const org = await repo.org(db, orgId);
    if (!org) return; // deleted meanwhile: nobody to tell
    for (const f of fired) await deliver(org, settings, f);
  }

  /** Evaluates the orgs' alerts now. Never throws (errors are logged). */
  async function evaluate(orgIds: string[]): Promise<void> {
    try {
      const all = await repo.settingsWithAlerts(db, [...new Set(orgIds)]);
      await Promise.all(
        all.map((s) =>
          evaluateOrg(s).catch((err) =>
            log.error({ orgId: s.orgId, err: (err as Error).message }, "billing alert evaluation failed"),
          ),
        ),
      );
    } catch (err) {
      log.error({ err: (err as Error).message }, "billing alert evaluation failed");
    }
  }

  return {
    evaluate,

    /** The metering flush listener: evaluates in the background (must not block or throw into the flush). */
    onUsageFlushed(orgIds: string[]): void {
      void track(evaluate(orgIds));
    },

    /** Resolves when background evaluations and deliveries started so far are done. */
    async idle(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },

    async get(ctx: OrgContext) {
      assertCan(ctx, "billing", "read");
      return view(ctx, await repo.getSettings(db, ctx.orgId));
    },

    async save(ctx: OrgContext, body: AlertSettingsInput) {
      assertCan(ctx, "billing", "manage");
      if (deps.credits === false && body.lowBalanceUsd !== null) {
        throw badRequest(
          "LOW_BALANCE_ALERT_UNAVAILABLE",
          "Prepaid credits are off on this instance (TOLLGATE_BILLING=off), so there is no balance to alert on: send lowBalanceUsd: null. The monthly budget alerts still work.",
        );
      }
      const low = checkThreshold("lowBalanceUsd", body.lowBalanceUsd);
      const budget = checkThreshold("monthlyBudgetUsd", body.monthlyBudgetUsd);
      const url = body.webhookUrl ? checkWebhookUrl(body.webhookUrl) : null;
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

    async test(ctx: OrgContext) {
      assertCan(ctx, "billing", "manage");
      const [settings, org] = await Promise.all([repo.getSettings(db, ctx.orgId), repo.org(db, ctx.orgId)]);
      if (!org) throw badRequest("ORG_NOT_FOUND", "The organization no longer exists.");
      return track(deliver(org, settings, { event: "test", period: `test-${now().getTime()}` }));
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
        throw badRequest(
          "OWNER_ALWAYS_NOTIFIED",
          "The owner always receives billing alert emails; transfer ownership to stop them.",
        );
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

export type AlertService = ReturnType<typeof createAlertService>;
