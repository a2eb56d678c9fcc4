/**
 * `tollgate serve`: open storage, migrate, listen; on SIGTERM/SIGINT turn
 * /readyz to 503, stop accepting, finish in-flight requests, close storage,
 * exit 0.
 */
import { buildApp } from "./app.js";
import { type Config, loadConfig } from "./config.js";
import { openDatabase } from "./platform/db/db.js";
import { runMigrations } from "./platform/db/migrate.js";
import { createLogger } from "./platform/logger.js";

export async function serve(config: Config = loadConfig()): Promise<void> {
  const logger = createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await runMigrations(database);
  const app = await buildApp({ config, database, logger });
  await app.server.listen({ port: config.port, host: config.host });
  const storage = database.kind === "postgres" ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${config.dataDir}`;
  logger.info({ url: config.publicUrl, storage }, `Tollgate is running — open ${config.publicUrl} (API reference: ${config.publicUrl}/api/docs)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: draining requests");
    app.beginShutdown();
    const deadline = setTimeout(() => {
      logger.error("shutdown deadline passed; exiting");
      process.exit(1);
    }, 25_000);
    deadline.unref();
    try {
      await app.close();
      await database.close();
      logger.info("stopped");
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "error during shutdown");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
