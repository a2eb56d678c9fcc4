/**
 * The order a call tries a provider's credentials in: weighted random
 * sampling without replacement, so the first credential is picked in
 * proportion to its weight (90/10 sends about 90 % of calls to the first) and
 * every other credential stays behind it as a failover, likelier ones first.
 */
import type { ProviderCredential } from "../catalog.js";

export function credentialOrder(
  credentials: readonly ProviderCredential[],
  random: () => number = Math.random,
): ProviderCredential[] {
  const left = credentials.slice();
  const out: ProviderCredential[] = [];
  let total = 0;
  for (const c of left) total += c.weight;
  while (left.length > 1) {
    let r = random() * total;
    let i = 0;
    while (i < left.length - 1 && r >= left[i]!.weight) {
      r -= left[i]!.weight;
      i++;
    }
    const [picked] = left.splice(i, 1);
    total -= picked!.weight;
    out.push(picked!);
  }
  out.push(left[0]!);
  return out;
}
