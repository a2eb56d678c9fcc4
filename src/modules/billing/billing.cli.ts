/**
 * Operator commands: `tollgate credits grant --org <slug> --usd <amount> --note <text>`
 * and `tollgate billing verify`. Returns the exit code (1: mismatch or bad input).
 */
import { parseArgs } from "node:util";
import type { Db } from "../../platform/db/db.js";
import { AppError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { type ProjectReconcile, reconcileUsage } from "./billing.reconcile.js";
import { verifyBalances } from "./billing.repo.js";
import { grantCredits } from "./billing.service.js";

export async function runBillingCommand(db: Db, argv: string[], print: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { org: { type: "string" }, usd: { type: "string" }, note: { type: "string" }, "idempotency-key": { type: "string" }, through: { type: "string" } },
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
    const through = values.through ? new Date(values.through) : undefined;
    if (through && Number.isNaN(through.getTime())) {
      print("tollgate: --through must be a date-time, e.g. 2026-11-29T12:00:00Z");
      return 2;
    }
    const usageBad = printUsageReconciliation(await reconcileUsage(db, { through }), print);
    return bad === 0 && usageBad === 0 ? 0 : 1;
  }
  print("Usage: tollgate credits grant --org <slug> --usd <amount> --note <text> | tollgate billing verify [--through <date-time>]");
  return 2;
}


const hourText = (d: Date) => d.toISOString().slice(0, 13) + ":00Z";

/** Prints the usage checks (ledger = hourly report, ledger = request logs) per org and per project; returns the number of mismatches. */
function printUsageReconciliation(rows: ProjectReconcile[], print: (line: string) => void): number {
  let bad = 0;
  const byOrg = new Map<string, ProjectReconcile[]>();
  for (const r of rows) byOrg.set(r.orgId, [...(byOrg.get(r.orgId) ?? []), r]);
  for (const [orgId, projects] of byOrg) {
    const org = projects[0]!.orgSlug ?? `(deleted org ${orgId})`;
    const total = (f: (r: ProjectReconcile) => bigint) => projects.reduce((s, r) => s + f(r), 0n);
    const hourlyOk = projects.every((r) => r.hourlyOk);
    const logsOk = projects.every((r) => r.logsOk);
    if (!hourlyOk || !logsOk) bad++;
    print(
      `${hourlyOk && logsOk ? "ok      " : "MISMATCH"} ${org}  usage: ledger $${formatUsd(total((r) => r.ledgerMicroUsd))}, hourly report $${formatUsd(total((r) => r.hourlyMicroUsd))}; ` +
        `compared with request logs: ledger $${formatUsd(total((r) => r.ledgerInWindowMicroUsd))}, logs $${formatUsd(total((r) => r.logsInWindowMicroUsd))}`,
    );
    for (const r of projects) {
      const name = `${org}/${r.projectSlug ?? `(deleted project ${r.projectId})`}`;
      const hourly = r.hourlyOk ? `usage $${formatUsd(r.ledgerMicroUsd)} = hourly report` : `usage in ledger $${formatUsd(r.ledgerMicroUsd)} but hourly report $${formatUsd(r.hourlyMicroUsd)}`;
      if (r.skipped) {
        print(`  ${r.hourlyOk ? "ok      " : "MISMATCH"} ${name}  ${hourly}; request logs not compared: ${r.skipped}`);
        continue;
      }
      const span = `${hourText(r.from!)} to ${hourText(r.through)}, ${r.hoursCompared} h`;
      const logs = r.logsOk ? `ledger $${formatUsd(r.ledgerInWindowMicroUsd)} = request logs` : `ledger $${formatUsd(r.ledgerInWindowMicroUsd)} but request logs $${formatUsd(r.logsInWindowMicroUsd)}`;
      print(`  ${r.hourlyOk && r.logsOk ? "ok      " : "MISMATCH"} ${name}  ${hourly}; ${logs} (${span})`);
      for (const h of r.differingHours) print(`             hour ${hourText(h.hour)}: ledger $${formatUsd(h.ledgerMicroUsd)}, request logs $${formatUsd(h.logsMicroUsd)}`);
    }
  }
  const through = rows[0]?.through;
  const window = through ? ` (request logs compared for complete hours before ${hourText(through)})` : "";
  print(bad === 0 ? `Usage reconciles for all ${byOrg.size} organizations${window}.` : `Usage differs in ${bad} of ${byOrg.size} organizations${window}.`);
  return bad;
}
