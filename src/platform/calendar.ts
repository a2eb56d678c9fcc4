/** Calendar periods, always in UTC: the month that spend caps, budgets and billing summaries count in. */

/** The first instant of `d`'s UTC month. */
export const monthStart = (d: Date = new Date()): Date => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));

/** `d`'s UTC month as "YYYY-MM" (the period of monthly caps and budget alerts). */
export const monthKey = (d: Date = new Date()): string =>
  `${String(d.getUTCFullYear()).padStart(4, "0")}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;

/** The start of the budget period containing `d` (all time: the epoch). */
export const budgetPeriodStart = (period: "day" | "month" | "total", d: Date = new Date()): Date =>
  period === "day" ? dayStart(d) : period === "month" ? monthStart(d) : new Date(0);

/** The first instant of `d`'s UTC day. */
export const dayStart = (d: Date = new Date()): Date =>
  new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

/** `d`'s UTC day as "YYYY-MM-DD" (the period of daily budgets). */
export const dayKey = (d: Date = new Date()): string => dayStart(d).toISOString().slice(0, 10);
