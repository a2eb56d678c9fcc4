/**
 * `tollgate serve`: open storage, migrate, listen. On SIGTERM/SIGINT, shut down
 * without losing anything:
 *  1. /readyz answers 503 at once (load balancers stop routing here); for
 *     TOLLGATE_SHUTDOWN_DELAY_MS (default 0) new requests are still served,
 *     for balancers that only route by readiness;
 *  2. the listener closes (new connections are refused; a new request on an
 *     open keep-alive connection gets 503 and `Connection: close`), idle
 *     connections are closed as they become idle;
 *  3. in-flight requests and streams finish, for up to
 *     TOLLGATE_SHUTDOWN_TIMEOUT_MS (default 25 s, under Kubernetes' 30 s
 *     grace period); past it, the ones still running end with a 503
 *     `server_shutting_down` (streams: an error event, then the end of the
 *     stream — never a cut socket), and are logged and settled as such;
 *  4. request logs and other buffers are flushed (app.close()), then Redis
 *     and the database are closed, and the process exits 0.
 * On PostgreSQL without Redis, a second server on the same database refuses to
 * start (see platform/db/server-lock.ts). On the embedded database the server
 * also listens on a local control socket in the data dir (owner only), through
 * which `tollgate credits grant` reaches it (modules/admin/admin.socket.ts).
 * A second signal does not interrupt this; a hard deadline (timeout + 15 s)
 * exits 1 if something hangs.
 */
import { buildApp } from "./app.js";
import { startControlSocket } from "./modules/admin/admin.socket.js";
import { type Config, loadConfig } from "./config.js";
import { openDatabase } from "./platform/db/db.js";
import { runMigrations } from "./platform/db/migrate.js";
import { acquireServerLock, type ServerLock, ServerLockTakenError } from "./platform/db/server-lock.js";
import { createLogger } from "./platform/logger.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function serve(config: Config = loadConfig()): Promise<void> {
  const logger = createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  // Without Redis, credit holds are per process: a second server would spend credits twice.
  let serverLock: ServerLock | null = null;
  if (config.databaseUrl && !config.redisUrl) {
    try {
      serverLock = await acquireServerLock(config.databaseUrl, logger);
    } catch (err) {
      await database.close();
      if (!(err instanceof ServerLockTakenError)) throw err;
      logger.fatal(err.message);
      process.exit(1);
    }
  }
  await runMigrations(database);
  const app = await buildApp({ config, database, logger });
  await app.server.listen({ port: config.port, host: config.host });
  // The embedded database is held by this process: operator commands reach it over a local socket.
  const closeControl =
    database.kind === "pglite"
      ? await startControlSocket({
          dataDir: config.dataDir,
          grant: (input) => app.grantCredits(input),
          onError: (err) => logger.error({ err }, "control socket request failed"),
        })
      : null;
  const storage = database.kind === "postgres" ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${config.dataDir}`;
  logger.info(
    {
      url: config.publicUrl,
      storage,
      redis: config.redisUrl ? "on (shared rate limits and cache invalidation)" : "off (single process)",
    },
    `Tollgate is running — open ${config.publicUrl} (API reference: ${config.publicUrl}/api/docs)`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { timeoutMs, delayMs } = config.shutdown;
    logger.info({ signal, timeoutMs, delayMs }, "shutting down: /readyz is 503, draining in-flight requests");
    app.beginShutdown();
    const hard = setTimeout(
      () => {
        logger.error("shutdown hard deadline passed; exiting");
        process.exit(1);
      },
      delayMs + timeoutMs + 15_000,
    );
    hard.unref();
    if (delayMs > 0) await sleep(delayMs);

    const http = app.server.server;
    // Connections that finish their last response while we drain would otherwise sit in keep-alive.
    const reaper = setInterval(() => http.closeIdleConnections(), 250);
    const deadline = setTimeout(() => {
      logger.warn({ timeoutMs }, "shutdown deadline reached: ending the requests still running");
      app.endInFlight();
      // They write their terminal event at once; sockets still open after that are dropped.
      setTimeout(() => http.closeAllConnections(), 2_000).unref();
    }, timeoutMs);
    try {
      // Stops accepting, waits for in-flight requests, then flushes logs and buffers and closes Redis.
      await closeControl?.();
      await app.close();
      // Not before: until app.close() returns, this process's requests still hold credits.
      await serverLock?.release();
      await database.close();
      logger.info("stopped");
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "error during shutdown");
      process.exit(1);
    } finally {
      clearInterval(reaper);
      clearTimeout(deadline);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
