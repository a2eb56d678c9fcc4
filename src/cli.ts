/**
 * The `tollgate` command: `serve` (default), `migrate`, and the operator billing
 * commands `credits grant` and `billing verify`. Configuration comes
 * from the environment (see README); a bad value stops with its name.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.js";
import { DataDirLockedError, openDatabase } from "./platform/db/db.js";
import { runMigrations } from "./platform/db/migrate.js";
import { serve } from "./main.js";

const HELP = `Usage: tollgate [command]

Commands:
  serve      Start the server (default)
  migrate    Apply database migrations and exit
  credits grant --org <slug> --usd <amount> --note <text>
             Grant credits to an organization (ledger entry + audit row)
  billing verify [--through <date-time>]
             Check that every organization's balance equals the sum of its
             ledger, and that usage in the ledger equals the hourly usage report
             and the request logs' costs (complete hours before --through,
             default now - 10 min); re-price those requests at today's prices
             (flags any charged below); flag negative balances (prepaid
             credits on); exits 1 on any mismatch or flag
  help       Show this help

Configuration is read from environment variables; see the README.`;

async function main(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const command = positionals[0] ?? "serve";
  switch (command) {
    case "serve":
      return serve(loadConfig());
    case "migrate": {
      const config = loadConfig();
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        await runMigrations(database);
        console.log(`Migrations applied (${database.kind}).`);
      } finally {
        await database.close();
      }
      return;
    }
    case "credits":
    case "billing": {
      const { runBillingCommand } = await import("./modules/billing/billing.cli.js");
      const config = loadConfig();
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      let code: number;
      try {
        await runMigrations(database);
        code = await runBillingCommand(database.db, argv, (line) => console.log(line), { billing: config.billing });
      } finally {
        await database.close();
      }
      if (code !== 0) process.exit(code);
      return;
    }
    case "help":
    case "--help":
    case "-h":
      console.log(HELP);
      return;
    default:
      console.error(`Unknown command "${command}".\n\n${HELP}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) {
    console.error(`tollgate: ${err.message}`);
  } else {
    console.error("tollgate: failed to start:", err);
  }
  process.exit(1);
});
