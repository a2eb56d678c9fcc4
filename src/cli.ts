/**
 * The `tollgate` command: `serve` (default), `migrate`, and the operator billing
 * commands `credits grant` and `billing verify`. Configuration comes
 * from the environment (see README); a bad value stops with its name.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.js";
import { type Database, DataDirLockedError, openDatabase } from "./platform/db/db.js";
import { runMigrations } from "./platform/db/migrate.js";

const HELP = `Usage: tollgate [command]

Commands:
  serve      Start the server (default)
  migrate    Apply database migrations and exit
  credits grant --org <slug> --usd <amount> --note <text>
             Grant credits to an organization (ledger entry + audit row);
             works while a server runs (it asks that server)
  billing verify [--through <date-time>]
             Check that every organization's balance equals the sum of its
             ledger, and that usage in the ledger equals the hourly usage report
             and the request logs' costs (complete hours before --through,
             default now - 10 min); re-price those requests at today's prices
             (flags any charged below); flag negative balances (prepaid
             credits on); exits 1 on any mismatch or flag
  help       Show this help (also --help, -h; every command takes --help)

Configuration is read from environment variables; see the README.`;

const COMMAND_HELP: Record<string, string> = {
  serve: `Usage: tollgate serve

Start the server (the default command). On the embedded database the server
also listens on a local control socket (<data dir>/run/control.sock, owner
only), through which \`tollgate credits grant\` reaches it while it runs.`,
  migrate: `Usage: tollgate migrate

Apply database migrations and exit (the server also applies them at start).`,
  credits: `Usage: tollgate credits grant --org <slug> --usd <amount> --note <text> [--idempotency-key <key>]

Grant credits to an organization: a ledger entry and an audit row. While a
server runs on the embedded database, the grant is sent to it over the local
control socket; otherwise the database is opened directly. The new balance is
visible at once. The same --idempotency-key twice grants once.`,
  billing: `Usage: tollgate billing verify [--through <date-time>]

Check every balance against its ledger, usage against the hourly report and
the request logs, re-price those requests at today's prices, and flag negative
balances. Exits 1 on any mismatch or flag. Needs the database itself: on the
embedded database, stop the server first.`,
  help: HELP,
};

const wantsHelp = (argv: string[]) => argv.includes("--help") || argv.includes("-h");

async function main(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const command = positionals[0] ?? (wantsHelp(argv) ? "help" : "serve");
  if (wantsHelp(argv) && COMMAND_HELP[command]) {
    console.log(COMMAND_HELP[command]);
    return;
  }
  switch (command) {
    case "serve": {
      // Loaded on demand: help and the operator commands start without the whole server.
      const { serve } = await import("./main.js");
      return serve(loadConfig());
    }
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
      let database: Database;
      try {
        database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      } catch (err) {
        // The embedded database is held by a running server: a grant goes to it over its control socket.
        if (!(err instanceof DataDirLockedError) || positionals[1] !== "grant") throw err;
        const { grantThroughServer } = await import("./modules/admin/admin.socket.js");
        const code = await runBillingCommand(null, argv, (line) => console.log(line), {
          billing: config.billing,
          grant: (input) => grantThroughServer(config.dataDir, input),
        });
        if (code !== 0) process.exit(code);
        return;
      }
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
