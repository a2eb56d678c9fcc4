/** Billing alert evaluation: checks an org's thresholds and claims each crossing so it fires once across replicas. */
import { monthKey, monthStart } from "../../platform/calendar.js";
import type { AlertDeliver } from "./alerts.delivery.js";
import * as repo from "./alerts.repo.js";
import { type AlertEvent, BUDGET_STEPS } from "./alerts.schema.js";
import type { AlertServiceDeps, Fired } from "./alerts.shared.js";

export function createAlertEvaluator(deps: AlertServiceDeps, now: () => Date, deliver: AlertDeliver) {
  const { db, log } = deps;
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

  return { evaluate };
}
