/**
 * Operator commands: `tollgate credits grant --org <slug> --usd <amount> --note <text>`
 * and `tollgate billing verify`. Returns the exit code (1: mismatch, under-billing,
 * a negative balance or bad input).
 */
import { parseArgs } from "node:util";
import type { Config } from "../../config.js";
import type { Db } from "../../platform/db/db.js";
import { AppError } from "../../platform/errors.js";
import { formatUsd } from "../../platform/money.js";
import { type ProjectReconcile, reconcileUsage } from "./billing.reconcile.js";
import { negativeBalances, type ProjectRepricing, repriceLogs } from "./billing.reprice.js";
import { verifyBalances } from "./billing.repo.js";
import { grantCredits } from "./billing.service.js";

/** Without `billing`: the defaults of an unconfigured server (no overrides, no markup, credits on). */
const DEFAULT_BILLING: Config["billing"] = {
  priceOverrides: "",
  markupPercent: "0",
  allowUnpriced: false,
  credits: true,
  cacheHitPricePercent: 0,
};

/** The command's flags and positionals; throws on a flag it does not know. */
function parseCommand(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: "string" },
      usd: { type: "string" },
      note: { type: "string" },
      "idempotency-key": { type: "string" },
      through: { type: "string" },
    },
  });
}

/** How a grant is made: on the database directly, or by the running server that holds it (admin.socket.ts). */
export type GrantFn = (input: { orgSlug: string; usd: string; note: string; idempotencyKey?: string }) => Promise<{
  orgSlug: string;
  entryId: string;
  duplicate: boolean;
  amountMicroUsd: bigint;
  balanceMicroUsd: bigint;
}>;

export async function runBillingCommand(
  db: Db | null,
  argv: string[],
  print: (line: string) => void,
  opts: { billing: Config["billing"]; grant?: GrantFn },
): Promise<number> {
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(argv);
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
      const grant: GrantFn = opts.grant ?? ((input) => grantCredits(db!, input));
      const res = await grant({
        orgSlug: values.org,
        usd: values.usd,
        note: values.note,
        idempotencyKey: values["idempotency-key"],
      });
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
  if (group === "billing" && action === "verify" && db) {
    const rows = await verifyBalances(db);
    let bad = 0;
    for (const r of rows) {
      const ok = r.balanceMicroUsd === r.ledgerSumMicroUsd;
      if (!ok) bad++;
      print(
        `${ok ? "ok      " : "MISMATCH"} ${r.slug ?? `(deleted ${r.orgId})`}  balance $${formatUsd(r.balanceMicroUsd)}  ledger $${formatUsd(r.ledgerSumMicroUsd)} (${r.entries} entries)`,
      );
    }
    print(
      bad === 0
        ? `All ${rows.length} balances equal their ledgers.`
        : `${bad} of ${rows.length} balances differ from their ledgers.`,
    );
    const through = values.through ? new Date(values.through) : undefined;
    if (through && Number.isNaN(through.getTime())) {
      print("tollgate: --through must be a date-time, e.g. 2026-11-29T12:00:00Z");
      return 2;
    }
    const billing = opts.billing ?? DEFAULT_BILLING;
    const reconciled = await reconcileUsage(db, { through });
    const usageBad = printUsageReconciliation(reconciled, print);
    const names = new Map(reconciled.map((r) => [r.projectId, `${r.orgSlug}/${r.projectSlug}`]));
    // The hours and projects the logs were just compared for: their rows are complete and still exist.
    const windows = reconciled.flatMap((r) =>
      r.skipped === null && r.from
        ? [{ orgId: r.orgId, projectId: r.projectId, from: r.from, through: r.through }]
        : [],
    );
    const underBilled = printRepricing(await repriceLogs(db, windows, billing), names, print);
    let negative = 0;
    if (billing.credits) negative = printNegativeBalances(await negativeBalances(db), print);
    // With credits off usage is still debited and no balance is needed: balances go negative by design.
    else print("Negative balances not checked: prepaid credits are off (TOLLGATE_BILLING=off).");
    return bad === 0 && usageBad === 0 && underBilled === 0 && negative === 0 ? 0 : 1;
  }
  print(
    "Usage: tollgate credits grant --org <slug> --usd <amount> --note <text> | tollgate billing verify [--through <date-time>]",
  );
  return 2;
}

const hourText = (d: Date) => `${d.toISOString().slice(0, 13)}:00Z`;

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
      const hourly = r.hourlyOk
        ? `usage $${formatUsd(r.ledgerMicroUsd)} = hourly report`
        : `usage in ledger $${formatUsd(r.ledgerMicroUsd)} but hourly report $${formatUsd(r.hourlyMicroUsd)}`;
      if (r.skipped) {
        print(`  ${r.hourlyOk ? "ok      " : "MISMATCH"} ${name}  ${hourly}; request logs not compared: ${r.skipped}`);
        continue;
      }
      const span = `${hourText(r.from!)} to ${hourText(r.through)}, ${r.hoursCompared} h`;
      const logs = r.logsOk
        ? `ledger $${formatUsd(r.ledgerInWindowMicroUsd)} = request logs`
        : `ledger $${formatUsd(r.ledgerInWindowMicroUsd)} but request logs $${formatUsd(r.logsInWindowMicroUsd)}`;
      print(`  ${r.hourlyOk && r.logsOk ? "ok      " : "MISMATCH"} ${name}  ${hourly}; ${logs} (${span})`);
      for (const h of r.differingHours)
        print(
          `             hour ${hourText(h.hour)}: ledger $${formatUsd(h.ledgerMicroUsd)}, request logs $${formatUsd(h.logsMicroUsd)}`,
        );
    }
  }
  const through = rows[0]?.through;
  const window = through ? ` (request logs compared for complete hours before ${hourText(through)})` : "";
  print(
    bad === 0
      ? `Usage reconciles for all ${byOrg.size} organizations${window}.`
      : `Usage differs in ${bad} of ${byOrg.size} organizations${window}.`,
  );
  return bad;
}

const signedUsd = (m: bigint) => (m < 0n ? `-$${formatUsd(-m)}` : `$${formatUsd(m)}`);

/** Prints the re-pricing of the compared request logs per project; returns the number of projects with under-billed requests. */
function printRepricing(rows: ProjectRepricing[], names: Map<string, string>, print: (line: string) => void): number {
  let bad = 0;
  let repriced = 0;
  for (const r of rows) {
    const name = names.get(r.projectId) ?? r.projectId;
    const span = `${hourText(r.from)} to ${hourText(r.through)}`;
    repriced += r.repriced;
    if (r.underBilled > 0) {
      bad++;
      print(
        `  UNDER-BILLED ${name}  ${r.underBilled} of ${r.repriced} requests charged below today's price, short $${formatUsd(r.shortfallMicroUsd)} in total (${span})`,
      );
      for (const e of r.examples)
        print(
          `             request ${e.requestId} (${e.model}, ${e.createdAt}): charged $${formatUsd(e.chargedMicroUsd)}, re-priced $${formatUsd(e.repricedMicroUsd)}`,
        );
    } else if (r.repriced > 0)
      print(`  ok       ${name}  ${r.repriced} requests re-priced at today's prices, none under-billed (${span})`);
    for (const [reason, n] of r.notRepriced) print(`  note     ${name}  ${n} requests not re-priced: ${reason}`);
  }
  print(
    bad === 0
      ? `No request charged below today's price (${repriced} re-priced).`
      : `Under-billed requests in ${bad} of ${rows.length} projects (${repriced} re-priced).`,
  );
  return bad;
}

/** Prints organizations with a balance below zero; returns how many of them still exist (a deleted one can no longer top up). */
function printNegativeBalances(
  rows: Array<{ orgId: string; slug: string | null; balanceMicroUsd: bigint }>,
  print: (line: string) => void,
): number {
  let bad = 0;
  for (const r of rows) {
    if (r.slug === null) {
      print(
        `note     (deleted org ${r.orgId})  balance ${signedUsd(r.balanceMicroUsd)} (not counted: the organization is gone)`,
      );
      continue;
    }
    bad++;
    print(
      `NEGATIVE ${r.slug}  balance ${signedUsd(r.balanceMicroUsd)}: priced requests are refused until a top-up covers it`,
    );
  }
  print(
    bad === 0
      ? "No organization has a negative balance."
      : `${bad} organization${bad === 1 ? " has a" : "s have"} negative balance${bad === 1 ? "" : "s"}.`,
  );
  return bad;
}
