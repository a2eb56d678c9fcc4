/**
 * The embedded database's data dir is used by one process at a time (two
 * PGlite instances on one directory would corrupt it). The lock is
 * proper-lockfile's atomic `mkdir` of `<data dir>/pglite.lock`, with the
 * holder's PID and host name written inside it.
 *
 * A crashed holder (kill -9, OOM kill) leaves the directory behind. Its PID
 * says whether it is stale: when the recorded process no longer exists on this
 * host, the next start takes the lock over at once. A live PID is refused. The
 * time-based staleness of proper-lockfile (mtime not refreshed for 10 s) stays
 * as the fallback for what the PID cannot tell: a lock written on another host
 * (a volume shared between containers, where PIDs are not comparable), a lock
 * without a PID file, or a PID reused by an unrelated process.
 *
 * Two processes starting at once after a crash: the stale lock is renamed away
 * before it is removed (a rename succeeds once), and one that finds it renamed
 * a live lock instead puts it back and gives up, so never two holders.
 */
import { readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import lockfile from "proper-lockfile";

export class DataDirLockedError extends Error {
  constructor(dir: string) {
    super(
      `The data directory ${dir} is in use by another Tollgate process. ` +
        `The embedded database allows one process only: stop the other one, choose another TOLLGATE_DATA_DIR, ` +
        `or set DATABASE_URL to run several processes on PostgreSQL.`,
    );
    this.name = "DataDirLockedError";
  }
}

/** Data dirs this process holds: a recorded PID equal to ours is a previous incarnation (a restarted container) unless listed here. */
const held = new Set<string>();

interface Holder {
  pid: number;
  host: string;
}

function readHolder(lockDir: string): Holder | null {
  try {
    const [pid, host] = readFileSync(path.join(lockDir, "pid"), "utf8").split("\n");
    return Number.isSafeInteger(Number(pid)) && Number(pid) > 0 ? { pid: Number(pid), host: host ?? "" } : null;
  } catch {
    return null;
  }
}

/** True when the recorded holder is certainly gone: same host, and no such process (or our own PID, from before a restart). */
function isDead(h: Holder, dataDir: string): boolean {
  if (h.host !== hostname()) return false;
  if (h.pid === process.pid) return !held.has(dataDir);
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists (another user's).
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Locks `dataDir` for this process; resolves with the release function, or throws DataDirLockedError. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const dataDir = path.resolve(dir);
  const lockDir = path.join(dataDir, "pglite.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(dataDir, { lockfilePath: lockDir, stale: 10_000, update: 2_000 });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // ENOTEMPTY: proper-lockfile judged the lock stale by its age and could not rmdir it (our PID file is inside).
      const staleByAge = code === "ENOTEMPTY";
      if (code !== "ELOCKED" && !staleByAge) throw err;
      const holder = readHolder(lockDir);
      // A holder on this host is judged by its PID alone (a live one whose updates stalled keeps its lock);
      // age decides only what the PID cannot tell (another host, no PID file).
      const takeOver = holder ? isDead(holder, dataDir) || (staleByAge && holder.host !== hostname()) : staleByAge;
      if (!takeOver) throw new DataDirLockedError(dir);
      // Left by a crash: rename it away (once, whoever else tries), check it was the dead one's, remove it, lock again.
      const moved = `${lockDir}.stale-${process.pid}`;
      rmSync(moved, { recursive: true, force: true });
      try {
        renameSync(lockDir, moved);
      } catch {
        continue;
      }
      const was = readHolder(moved);
      if (holder && (was?.pid !== holder.pid || was.host !== holder.host)) {
        // Another process took the lock over in between: it is live, give it back.
        renameSync(moved, lockDir);
        throw new DataDirLockedError(dir);
      }
      rmSync(moved, { recursive: true, force: true });
      continue;
    }
    const { atime, mtime } = statSync(lockDir);
    writeFileSync(path.join(lockDir, "pid"), `${process.pid}\n${hostname()}`);
    // Adding the file changed the directory's mtime, which proper-lockfile checks as its own (else "compromised"): put it back.
    utimesSync(lockDir, atime, mtime);
    held.add(dataDir);
    return async () => {
      held.delete(dataDir);
      // proper-lockfile removes its directory with rmdir: it must be empty.
      rmSync(path.join(lockDir, "pid"), { force: true });
      await release();
    };
  }
  throw new DataDirLockedError(dir);
}
