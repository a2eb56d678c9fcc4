/** Calendar periods, always in UTC: the month that spend caps, budgets and billing summaries count in. */

/** The first instant of `d`'s UTC month. */
export const monthStart = (d: Date = new Date()): Date => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));

/** The first instant of the UTC month a "YYYY-MM" key names (the inverse of monthKey). */
export const monthStartOf = (key: string): Date => {
  const [y, m] = key.split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, 1));
};

/** `d`'s UTC month as "YYYY-MM" (the period of monthly caps and budget alerts). */
export const monthKey = (d: Date = new Date()): string =>
  `${String(d.getUTCFullYear()).padStart(4, "0")}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
