/**
 * The order a call tries weighted alternatives in (a provider's credentials,
 * a weighted virtual model's targets): weighted random sampling without
 * replacement, so the first is picked in proportion to its weight (90/10
 * sends about 90 % of calls to the first) and every other stays behind it as
 * a failover, likelier ones first.
 */

export function weightedOrder<T extends { weight: number }>(
  items: readonly T[],
  random: () => number = Math.random,
): T[] {
  const left = items.slice();
  const out: T[] = [];
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
