/**
 * One `tollgate serve` per PostgreSQL database when there is no Redis. Credit
 * holds then live in the server process, so two servers would each admit
 * requests up to an organization's whole balance and spend it twice.
 *
 * The lock is a session-level advisory lock: PostgreSQL releases it when its
 * connection ends, a crash or a kill included, so there is never a stale lock
 * to clear by hand. It lives on a connection of its own, not the pool's: a
 * pooled connection is lent to any query and closed when idle, and the lock
 * would go with it.
 *
 * If that connection drops while the server runs, the lock is gone and another
 * server could start; this one keeps serving (refusing traffic would be worse
 * than the risk) but says so in the log and re-takes the lock as soon as it can.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";

/** Derived from a constant name, never from the version: servers of different versions must exclude each other too. */
export const SERVER_LOCK_KEY: bigint = createHash("sha256").update("tollgate:single-server").digest().readBigInt64BE(0);

export const SERVER_LOCK_TAKEN =
  "Another Tollgate server is running on this PostgreSQL database without Redis. " +
  "Credit holds are per process without Redis, so a second server could spend an organization's credits twice. " +
  "Set REDIS_URL on every server to run several, or stop the other one first.";

export class ServerLockTakenError extends Error {
  constructor() {
    super(SERVER_LOCK_TAKEN);
    this.name = "ServerLockTakenError";
  }
}

export interface ServerLock {
  /** Ends the lock's connection, which releases the lock. */
  release(): Promise<void>;
}

const RETRY_MS = 1_000;
// A connection cut silently (no FIN, no RST) would otherwise look alive for many minutes of TCP keep-alive.
const TIMEOUT_MS = 5_000;

type State = "held" | "lost" | "taken";

/** Takes the lock, or throws ServerLockTakenError when another session holds it. */
export async function acquireServerLock(databaseUrl: string, log: Logger): Promise<ServerLock> {
  let client = await tryLock(databaseUrl);
  if (!client) throw new ServerLockTakenError();
  let state: State = "held";
  let released = false;

  const enter = (next: State, err?: unknown) => {
    if (released || next === state) return;
    state = next;
    const reason = err instanceof Error ? err.message : undefined;
    if (next === "held")
      log.warn("single-server lock taken again: this is the only Tollgate server on this database once more");
    else if (next === "lost") {
      log.error(
        { reason },
        "lost the single-server lock (its database connection dropped); re-taking it every second. Until then another server could start and spend credits twice",
      );
    } else
      log.error(
        `${SERVER_LOCK_TAKEN} (This server lost its lock when its connection dropped, and another server took it: stop one of them.)`,
      );
  };

  const drop = (c: pg.Client, err?: unknown) => {
    if (client !== c) return;
    client = null;
    void c.end().catch(() => {});
    enter("lost", err);
  };
  const watch = (c: pg.Client) => {
    c.on("error", (err) => drop(c, err));
    c.on("end", () => drop(c));
  };
  watch(client);

  let busy = false;
  const tick = async () => {
    if (busy || released) return;
    busy = true;
    try {
      if (client) {
        const c = client;
        await c.query("select 1").catch((err: unknown) => drop(c, err));
        return;
      }
      const c = await tryLock(databaseUrl);
      if (released) await c?.end();
      else if (!c) enter("taken");
      else {
        client = c;
        watch(c);
        enter("held");
      }
    } catch (err) {
      enter("lost", err);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), RETRY_MS);
  timer.unref();

  return {
    async release() {
      released = true;
      clearInterval(timer);
      const c = client;
      client = null;
      // A half-open connection would not answer the goodbye; exiting closes its socket anyway.
      const bound = new Promise<void>((r) => setTimeout(r, TIMEOUT_MS).unref());
      await Promise.race([c?.end().catch(() => {}), bound]);
    },
  };
}

/** A connected client holding the lock, or null when another session holds it. */
async function tryLock(databaseUrl: string): Promise<pg.Client | null> {
  const c = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: TIMEOUT_MS,
    query_timeout: TIMEOUT_MS,
    keepAlive: true,
    // Lets an operator find the holder in pg_stat_activity.
    application_name: "tollgate-server-lock",
  });
  // Until the caller watches it, an error event must not crash the process.
  c.on("error", () => {});
  try {
    await c.connect();
    const r = await c.query<{ ok: boolean }>("select pg_try_advisory_lock($1::bigint) as ok", [
      SERVER_LOCK_KEY.toString(),
    ]);
    if (r.rows[0]?.ok) return c;
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
  await c.end();
  return null;
}
