/**
 * Key verification throughput: verify() per second on a cache hit, on a miss
 * (one indexed lookup by digest), for unknown well-formed keys, and for
 * malformed keys (refused by format/checksum before any lookup).
 * Storage: in-memory PGlite, or PostgreSQL with `--pg <url>` (a scratch
 * database is created next to it and dropped afterwards).
 * Run: `npx tsx bench/key-verify.ts [--keys 3000] [--seconds 2] [--pg postgres://…]`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { generateKey, keyDigest, keyHint } from "../src/modules/keys/key-format.js";
import { createKeyVerifier, dbKeyStore, type KeyVerifier } from "../src/modules/keys/key-verifier.js";
import { apiKeys, organizations, projects } from "../src/schema.js";
import { openDatabase } from "../src/platform/db/db.js";
import { runMigrations } from "../src/platform/db/migrate.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const KEYS = Number(arg("keys", "3000"));
const SECONDS = Number(arg("seconds", "2"));
const PG_URL = arg("pg", "");

async function scratchPg(url: string) {
  const name = `tollgate_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Runs `fn` for ~SECONDS with `concurrency` callers; returns calls per second. */
async function measure(fn: (i: number) => Promise<unknown>, concurrency: number): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let calls = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; performance.now() < deadline; i += concurrency) {
        await fn(i);
        calls++;
      }
    }),
  );
  return calls / ((performance.now() - start) / 1000);
}

async function main() {
  const scratch = PG_URL ? await scratchPg(PG_URL) : null;
  const database = await openDatabase(
    scratch ? { databaseUrl: scratch.url, dataDir: null, poolMax: 16 } : { dataDir: null },
  );
  await runMigrations(database);
  const db = database.db;

  const orgId = randomUUID();
  const projectId = randomUUID();
  await db.insert(organizations).values({ id: orgId, slug: "bench-org", name: "Bench" });
  await db
    .insert(projects)
    .values({ id: projectId, orgId, slug: "prod", name: "Prod", monthlySpendCapMicroUsd: 100_000_000n });
  const raws: string[] = [];
  for (let i = 0; i < KEYS; i += 500) {
    const batch = Array.from({ length: Math.min(500, KEYS - i) }, () => generateKey("live"));
    raws.push(...batch);
    await db.insert(apiKeys).values(
      batch.map((raw, j) => ({
        id: randomUUID(),
        orgId,
        projectId,
        name: `k${i + j}`,
        environment: "live" as const,
        digest: keyDigest(raw),
        hint: keyHint(raw),
      })),
    );
  }
  const unknown = Array.from({ length: 1000 }, () => generateKey("live"));
  const malformed = raws.slice(0, 1000).map((k) => k.slice(0, -1) + (k.endsWith("a") ? "b" : "a"));

  const store = dbKeyStore(db);
  const ok = async (v: KeyVerifier, raw: string) => {
    const r = await v.verify(raw);
    if (!r.ok) throw new Error(`unexpected ${r.reason}`);
  };

  const results: Array<[string, number, number]> = [];
  for (const concurrency of [1, 16]) {
    // Hit: every key cached once, then verified over and over.
    const hot = createKeyVerifier({ store, flushIntervalMs: 3_600_000 });
    for (const raw of raws) await ok(hot, raw);
    results.push([
      "hit (cached context)",
      concurrency,
      await measure((i) => ok(hot, raws[i % raws.length]!), concurrency),
    ]);
    await hot.close();

    // Miss: a zero TTL makes every call a database lookup.
    const cold = createKeyVerifier({ store, ttlMs: 0, negativeTtlMs: 0, flushIntervalMs: 3_600_000 });
    results.push([
      "miss (DB lookup by digest)",
      concurrency,
      await measure((i) => ok(cold, raws[i % raws.length]!), concurrency),
    ]);
    results.push([
      "unknown well-formed key, uncached",
      concurrency,
      await measure((i) => cold.verify(unknown[i % unknown.length]!), concurrency),
    ]);
    results.push([
      "malformed / bad checksum",
      concurrency,
      await measure((i) => cold.verify(malformed[i % malformed.length]!), concurrency),
    ]);
    if (cold.stats().lookups === 0) throw new Error("miss path did not look up");
    await cold.close();
  }

  console.log(`\nkey verification — ${database.kind}, ${KEYS} keys, ${SECONDS}s per row, node ${process.version}\n`);
  console.log("case                                concurrency      verify/s");
  console.log("----------------------------------  -----------  ------------");
  for (const [name, c, rate] of results)
    console.log(
      `${name.padEnd(34)}  ${String(c).padStart(11)}  ${Math.round(rate).toLocaleString("en-US").padStart(12)}`,
    );
  console.log();

  await database.close();
  await scratch?.drop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
