/**
 * Storage and mail plumbing: the PGlite data dir is single-process (a second
 * open fails fast), concurrent migrators on PostgreSQL apply each migration
 * once, and without SMTP_URL an invitation lands in <data dir>/outbox/.
 */
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockDataDir } from "../src/platform/db/data-dir-lock.js";
import { DataDirLockedError, openDatabase } from "../src/platform/db/db.js";
import { MIGRATIONS_FOLDER, runMigrations } from "../src/platform/db/migrate.js";
import { startTestApp, type TestApp, uniqueEmail } from "./helpers/app.js";
import { createPgDatabase, storageKind, TEST_DATABASE_URL } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";

const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
  entries: Array<{ tag: string }>;
};

describe("PGlite data dir", () => {
  it("a second open of the same data dir fails fast with DataDirLockedError; after close it opens again", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-lock-"));
    try {
      const first = await openDatabase({ dataDir: dir });
      await first.db.execute(sql`create table kept (id text primary key, name text not null)`);
      await first.db.execute(sql`insert into kept values ('u1', 'Kept')`);
      const started = Date.now();
      const second = openDatabase({ dataDir: dir });
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(/in use by another Tollgate process/);
      expect(Date.now() - started).toBeLessThan(3000);
      await first.close();

      const reopened = await openDatabase({ dataDir: dir });
      const res = (await reopened.db.execute(sql`select name from kept where id = 'u1'`)) as unknown as {
        rows: Array<{ name: string }>;
      };
      expect(res.rows).toEqual([{ name: "Kept" }]);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  // A lock older than proper-lockfile's stale age (its holder's updates stopped: killed, or stalled under load).
  const oldLock = (pid: number, host: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-lock-"));
    const lockDir = path.join(dir, "pglite.lock");
    mkdirSync(lockDir);
    writeFileSync(path.join(lockDir, "pid"), `${pid}\n${host}`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockDir, old, old);
    return dir;
  };

  it("an old lock of a dead process on this host is taken over; of a live one, refused; of another host, taken over", async () => {
    const child = spawnSync(process.execPath, ["-e", "0"]);
    const dead = oldLock(child.pid!, hostname());
    const live = oldLock(process.ppid, hostname());
    const remote = oldLock(process.ppid, "another-host");
    try {
      const release = await lockDataDir(dead);
      await release();
      await expect(lockDataDir(live)).rejects.toBeInstanceOf(DataDirLockedError);
      const releaseRemote = await lockDataDir(remote);
      await releaseRemote();
    } finally {
      for (const d of [dead, live, remote]) rmSync(d, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)("concurrent migrations on PostgreSQL", () => {
  it("three migrators at once all succeed and apply each migration once", async () => {
    const pgdb = await createPgDatabase();
    const handles = await Promise.all(
      [0, 1, 2].map(() => openDatabase({ databaseUrl: pgdb.url, dataDir: null, poolMax: 2 })),
    );
    try {
      await Promise.all(handles.map((h) => runMigrations(h)));
      const res = (await handles[0]!.db.execute(
        sql`select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash`,
      )) as unknown as { rows: Array<{ hash: string; n: number }> };
      expect(res.rows).toHaveLength(journal.entries.length);
      for (const r of res.rows) expect(r.n).toBe(1);
      // And a later boot finds nothing left to do.
      await runMigrations(handles[1]!);
      const again = (await handles[0]!.db.execute(
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      )) as unknown as { rows: Array<{ n: number }> };
      expect(again.rows[0]!.n).toBe(journal.entries.length);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      await pgdb.drop();
    }
  });
});
if (!TEST_DATABASE_URL)
  console.log("storage.test.ts: concurrent PostgreSQL migrations skipped (TEST_DATABASE_URL is not set)");

describe(`mail without SMTP_URL (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("saves the invitation under <data dir>/outbox/ with a working /invite/ link", async () => {
    const owner = await t.signUp({ name: "Outbox Owner" });
    const org = await createOrg(owner, { name: "Outbox Org" });
    const email = uniqueEmail("outbox");
    expect((await owner.post(`/api/v1/orgs/${org.slug}/invitations`, { email, role: "member" })).status).toBe(201);

    const outbox = path.join(t.config.dataDir, "outbox");
    const files = readdirSync(outbox);
    expect(files).toHaveLength(1);
    const file = path.join(outbox, files[0]!);
    expect(statSync(file).mode & 0o077).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toContain(`To: ${email}`);
    expect(text).toContain("Outbox Org");
    const link = /http:\/\/localhost:3000\/invite\/([A-Za-z0-9_-]{40,})/.exec(text);
    expect(link).not.toBeNull();

    // Exactly four header lines, then the body.
    expect(
      text
        .split("\n\n")[0]!
        .split("\n")
        .map((l) => l.split(":")[0]),
    ).toEqual(["From", "To", "Subject", "Date"]);

    const preview = await t.anon.get(`/api/v1/invitations/${link![1]}`);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      organization: { slug: org.slug, name: "Outbox Org" },
      invitedBy: { name: "Outbox Owner" },
      email,
      role: "member",
    });
  });

  it("a line break in a stored name cannot add headers to the outbox file", async () => {
    const owner = await t.signUp();
    const org = await createOrg(owner, { name: "Header Org" });
    // Names are single-line since validation refuses breaks; one stored before that must still be harmless.
    await t.db.execute(
      sql`update users set name = ${"Mallory\nBcc: victim@example.com\n"} where id = ${owner.user!.id}`,
    );
    const email = uniqueEmail("hdr");
    expect((await owner.post(`/api/v1/orgs/${org.slug}/invitations`, { email, role: "member" })).status).toBe(201);
    const outbox = path.join(t.config.dataDir, "outbox");
    const text = readdirSync(outbox)
      .map((f) => readFileSync(path.join(outbox, f), "utf8"))
      .find((x) => x.includes(`To: ${email}`))!;
    const head = text.split("\n\n")[0]!.split("\n");
    expect(head.map((l) => l.split(":")[0])).toEqual(["From", "To", "Subject", "Date"]);
    expect(head.find((l) => l.startsWith("Subject:"))).toContain("Mallory Bcc: victim@example.com");
  });
});
