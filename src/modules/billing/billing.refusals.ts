/**
 * What a refused credit hold says (402): a spend cap (the project's monthly
 * cap, the key's budget, the end user's budget), or the organization's
 * credits — held by requests in flight (retry shortly) or simply too few. The
 * available amount is named only to keys that may learn the balance.
 */
import { budgetExceeded, insufficientCredits, spendCapReached } from "../../gateway/errors.js";
import type { ReserveResult } from "../../gateway/metering/store.js";
import { formatUsd } from "../../platform/money.js";

const PERIOD = { day: "today (UTC)", month: "this month", total: "in total" } as const;
const EVERY = { day: "daily", month: "monthly", total: "total" } as const;

/** The refusal's message names the org's available credits only to keys that may learn the balance. */
export function refusal(
  res: Exclude<ReserveResult, { ok: true }>,
  amount: bigint,
  reveal: boolean,
  endUser?: string | null,
) {
  if (res.reason === "cap") {
    const { cap } = res;
    const spent = `$${formatUsd(res.spentMicroUsd)} spent or held ${PERIOD[cap.period]}, and this request may cost up to $${formatUsd(amount)}`;
    const limit = `$${formatUsd(cap.capMicroUsd)}`;
    if (cap.kind === "key")
      return budgetExceeded(
        "key_budget_exceeded",
        `This API key's ${EVERY[cap.period]} budget of ${limit} is reached: ${spent}. Raise the key's budget or lower max_tokens.`,
      );
    if (cap.kind === "user")
      return budgetExceeded(
        "end_user_budget_exceeded",
        `The ${EVERY[cap.period]} budget of ${limit} per end user is reached for "${endUser ?? ""}": ${spent}.`,
      );
    return spendCapReached(
      `This project's monthly spend cap of ${limit} is reached: ${spent}. Raise the cap in the project settings or lower max_tokens.`,
    );
  }
  const byHolds = res.heldMicroUsd > 0n && res.availableMicroUsd + res.heldMicroUsd >= amount;
  const available = reveal ? `$${formatUsd(res.availableMicroUsd)}` : "less";
  return insufficientCredits(
    byHolds
      ? `Requests in flight hold this organization's credits${reveal ? `: ${available} is available now` : ""}, and this request may cost up to $${formatUsd(amount)}. Retry shortly, or lower max_tokens.`
      : `Insufficient credits: this request may cost up to $${formatUsd(amount)} and the organization has ${available} available. Add credits on the billing page, or lower max_tokens.`,
    byHolds ? 1 : undefined,
  );
}
