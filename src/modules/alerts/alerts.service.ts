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
 *
 * The pieces: alerts.settings.ts (settings and opt-in), alerts.evaluation.ts
 * (threshold crossings), alerts.delivery.ts (email and webhook).
 */
import type { OrgContext } from "../../platform/auth/guard.js";
import { appError } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import { createAlertDelivery } from "./alerts.delivery.js";
import { createAlertEvaluator } from "./alerts.evaluation.js";
import * as repo from "./alerts.repo.js";
import { createAlertSettings } from "./alerts.settings.js";
import type { AlertServiceDeps } from "./alerts.shared.js";

export type { AlertServiceDeps } from "./alerts.shared.js";

export function createAlertService(deps: AlertServiceDeps) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const pending = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };
  const { deliver } = createAlertDelivery(deps, now);
  const { evaluate } = createAlertEvaluator(deps, now, deliver);
  const alertSettings = createAlertSettings(deps, now, { evaluate, track });

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

    get: alertSettings.get,

    save: alertSettings.save,

    async test(ctx: OrgContext) {
      assertCan(ctx, "billing", "manage");
      const [settings, org] = await Promise.all([repo.getSettings(db, ctx.orgId), repo.org(db, ctx.orgId)]);
      if (!org) throw appError("ORG_NOT_FOUND");
      return track(deliver(org, settings, { event: "test", period: `test-${now().getTime()}` }));
    },

    subscribe: alertSettings.subscribe,

    unsubscribe: alertSettings.unsubscribe,
  };
}

export type AlertService = ReturnType<typeof createAlertService>;
