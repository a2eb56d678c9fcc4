/**
 * The spend caps a request's credit hold is checked against besides the
 * balance, each a counter over its period (UTC):
 *  - the project's monthly spend cap;
 *  - the key's own budget (per day, month or in total), when it has one;
 *  - the end user's budget (the request's `user`, per day, month or in
 *    total), when the project sets one and the request names an end user.
 * A counter is named by scope and period, so a new period starts from zero;
 * what the ledger already holds for it is read from the hourly usage rows.
 */
import { createHash } from "node:crypto";
import type { GatewayRequestContext } from "../../gateway/hooks.js";
import type { SpendCap } from "../../gateway/metering/store.js";
import { budgetPeriodStart, dayKey, monthKey, monthStart } from "../../platform/calendar.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { endUserSpendSince, keySpendSince, projectSpendSince } from "./billing.repo.js";

const DAY_MS = 86_400_000;

/** The start and the counter suffix of a budget period containing `now`. */
function periodOf(period: "day" | "month" | "total", now: Date): { since: Date; key: string; ttlMs: number } {
  const since = budgetPeriodStart(period, now);
  if (period === "day") return { since, key: `day:${dayKey(now)}`, ttlMs: 2 * DAY_MS };
  if (period === "month") return { since, key: `month:${monthKey(now)}`, ttlMs: 40 * DAY_MS };
  return { since, key: "total", ttlMs: 30 * DAY_MS };
}

/** An end user's name in a counter's id: hashed (any characters, any length, never in a Redis key as sent). */
const userRef = (user: string) => createHash("sha256").update(user).digest("hex").slice(0, 32);

export function spendCapsOf(db: DbOrTx, ctx: GatewayRequestContext, now = new Date()): SpendCap[] {
  const caps: SpendCap[] = [];
  if (ctx.spendCapMicroUsd != null) {
    const since = monthStart(now);
    caps.push({
      id: `proj:${ctx.projectId}:${monthKey(now)}`,
      kind: "project",
      period: "month",
      capMicroUsd: ctx.spendCapMicroUsd,
      load: () => projectSpendSince(db, ctx.projectId, since),
      ttlMs: 40 * DAY_MS,
    });
  }
  const key = ctx.keyBudget;
  if (key) {
    const p = periodOf(key.period, now);
    caps.push({
      id: `kbud:${ctx.keyId}:${p.key}`,
      kind: "key",
      period: key.period,
      capMicroUsd: key.capMicroUsd,
      load: () => keySpendSince(db, ctx.orgId, ctx.projectId, ctx.keyId, p.since),
      ttlMs: p.ttlMs,
    });
  }
  const user = ctx.endUserBudget ? ctx.endUser : null;
  if (ctx.endUserBudget && user) {
    const p = periodOf(ctx.endUserBudget.period, now);
    caps.push({
      id: `ubud:${ctx.projectId}:${userRef(user)}:${p.key}`,
      kind: "user",
      period: ctx.endUserBudget.period,
      capMicroUsd: ctx.endUserBudget.capMicroUsd,
      load: () => endUserSpendSince(db, ctx.orgId, ctx.projectId, user, p.since),
      ttlMs: p.ttlMs,
    });
  }
  return caps;
}
