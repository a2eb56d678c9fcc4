/**
 * What a refused credit hold says (402): the project's spend cap, or the
 * organization's credits — held by requests in flight (retry shortly) or
 * simply too few. The available amount is named only to keys that may learn
 * the balance.
 */
import { insufficientCredits, spendCapReached } from "../../gateway/errors.js";
import type { ReserveResult } from "../../gateway/metering/store.js";
import { formatUsd } from "../../platform/money.js";

/** The refusal's message names the org's available credits only to keys that may learn the balance. */
export function refusal(
  res: Exclude<ReserveResult, { ok: true }>,
  amount: bigint,
  cap: bigint | null,
  reveal: boolean,
) {
  if (res.reason === "cap") {
    return spendCapReached(
      `This project's monthly spend cap of $${formatUsd(cap ?? 0n)} is reached: $${formatUsd(res.spentMicroUsd)} spent or held this month, and this request may cost up to $${formatUsd(amount)}. Raise the cap in the project settings or lower max_tokens.`,
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
