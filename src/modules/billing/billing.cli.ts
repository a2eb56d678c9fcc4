/**
 * Operator commands: `tollgate credits grant --org <slug> --usd <amount> --note <text>`
 * and `tollgate billing verify`. Returns the exit code (1: mismatch or bad input).
 */
import { parseArgs } from "node:util";
import type { Db } from "../../platform/db/db.js";
import { AppError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { verifyBalances } from "./billing.repo.js";
import { grantCredits } from "./billing.service.js";

export async function runBillingCommand(db: Db, argv: string[], print: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { org: { type: "string" }, usd: { type: "string" }, note: { type: "string" }, "idempotency-key": { type: "string" } },
    });
  } catch (err) {
    print(`tollgate: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [group, action] = positionals;
  if (group === "credits" && action === "grant") {
    if (!values.org || !values.usd || values.note === undefined) {
      print("Usage: tollgate credits grant --org <slug> --usd <amount> --note <text>");
      return 2;
    }
    try {
      const res = await grantCredits(db, { orgSlug: values.org, usd: values.usd, note: values.note, idempotencyKey: values["idempotency-key"] });
      print(
        res.duplicate
          ? `Already granted (idempotency key used before, entry ${res.entryId}); balance of ${res.orgSlug}: $${formatUsd(res.balanceMicroUsd)}.`
          : `Granted $${formatUsd(res.amountMicroUsd)} to ${res.orgSlug} (ledger entry ${res.entryId}); balance: $${formatUsd(res.balanceMicroUsd)}.`,
      );
      return 0;
    } catch (err) {
      if (err instanceof AppError) {
        print(`tollgate: ${err.message}`);
        return 1;
      }
      throw err;
    }
  }
  if (group === "billing" && action === "verify") {
    const rows = await verifyBalances(db);
    let bad = 0;
    for (const r of rows) {
      const ok = r.balanceMicroUsd === r.ledgerSumMicroUsd;
      if (!ok) bad++;
      print(`${ok ? "ok      " : "MISMATCH"} ${r.slug ?? `(deleted ${r.orgId})`}  balance $${formatUsd(r.balanceMicroUsd)}  ledger $${formatUsd(r.ledgerSumMicroUsd)} (${r.entries} entries)`);
    }
    print(bad === 0 ? `All ${rows.length} balances equal their ledgers.` : `${bad} of ${rows.length} balances differ from their ledgers.`);
    return bad === 0 ? 0 : 1;
  }
  print("Usage: tollgate credits grant --org <slug> --usd <amount> --note <text> | tollgate billing verify");
  return 2;
}

