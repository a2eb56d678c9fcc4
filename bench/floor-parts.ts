/**
 * What a gateway request cannot do without, measured alone, in this process: the CPU of the work
 * Tollgate's contracts require per request beside the bare proxy's pass-through. Puts a floor under
 * the "CPU per request against the bare proxy" ratio.
 *  - json (non-streaming): parse the client's request, serialise the upstream request, parse the
 *    upstream answer, serialise the client's answer — the bench's own bodies;
 *  - json (streaming): parse and serialise each event of the mock's 20-chunk stream (plus its finish
 *    and usage events): usage is counted and output scanned per event;
 *  - log row (PGlite): one request-log row written through the request-log writer into a file-backed
 *    embedded database with the real schema, in batches of 500 (as under load), CPU per row.
 * Run: `npx tsx bench/floor-parts.ts [--seconds 2]`.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import type { RequestLogEntry } from "../src/gateway/request-log.js";
import { writeRequestLogs } from "../src/modules/logs/logs.writer.js";
import { newTimeId } from "../src/platform/crypto.js";
import { openDatabase } from "../src/platform/db/db.js";
import { runMigrations } from "../src/platform/db/migrate.js";

const i = process.argv.indexOf("--seconds");
const SECONDS = i >= 0 ? Number(process.argv[i + 1]) : 2;

/** CPU µs per call of `fn` (run for SECONDS after a short warm-up); `per` calls counted per run of `fn`. */
async function cpuPer(fn: () => unknown, per = 1): Promise<number> {
  const until = (ms: number) => Date.now() + ms;
  for (const end = until(300); Date.now() < end; ) await fn();
  let n = 0;
  const c0 = process.cpuUsage();
  for (const end = until(SECONDS * 1000); Date.now() < end; n += per) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const request = JSON.stringify({
  model: "openai/gpt-4o-mini",
  messages: [
    { role: "system", content: "You are a concise assistant." },
    { role: "user", content: "Say something about foxes and dogs in one sentence." },
  ],
});
const words = "The quick brown fox jumps over the lazy dog and keeps running through the field".split(" ");
const answer = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_800_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: words.join(" ") }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length },
});
const events = Array.from({ length: 22 }, (_, k) =>
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_800_000_000,
    model: "gpt-4o-mini",
    choices: k < 21 ? [{ index: 0, delta: { content: `${words[k % words.length]} ` }, finish_reason: null }] : [],
    ...(k === 21 ? { usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } } : {}),
  }),
);

const jsonWhole = () => {
  const req = JSON.parse(request) as Record<string, unknown>;
  const up = JSON.stringify({ ...req, model: "gpt-4o-mini" });
  const res = JSON.parse(answer) as Record<string, unknown>;
  return up.length + JSON.stringify(res).length;
};
const jsonStream = () => {
  let n = 0;
  for (const e of events) n += `data: ${JSON.stringify(JSON.parse(e))}\n\n`.length;
  return n;
};

async function logRowCost(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tollgate-floor-"));
  const database = await openDatabase({ dataDir: dir });
  try {
    await runMigrations(database);
    const orgId = randomUUID();
    const projectId = randomUUID();
    await database.db.execute(sql`insert into organizations (id, slug, name) values (${orgId}, 'floor', 'Floor')`);
    await database.db.execute(
      sql`insert into projects (id, org_id, slug, name) values (${projectId}, ${orgId}, 'floor', 'Floor')`,
    );
    const entry = (): RequestLogEntry => ({
      id: newTimeId(), // as the gateway makes request ids
      orgId,
      projectId,
      keyId: "key_floor",
      createdAt: new Date(),
      endpoint: "chat",
      modelRequested: "openai/gpt-4o-mini",
      modelServed: "gpt-4o-mini",
      provider: "openai",
      status: 200,
      outcome: "ok",
      errorCode: null,
      errorSource: null,
      usage: { inputTokens: 12, cachedInputTokens: 0, outputTokens: 16 },
      costMicroUsd: 12n,
      latencyMs: 3,
      ttftMs: 2,
      attempts: [{ target: "openai/gpt-4o-mini", outcome: "ok", status: 200, ms: 2 }],
      clientIp: "127.0.0.1",
      user: null,
      stream: false,
      requestBody: null,
      responseBody: null,
    });
    const BATCH = 500;
    return await cpuPer(() => writeRequestLogs(database.db, Array.from({ length: BATCH }, entry)), BATCH);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const whole = await cpuPer(jsonWhole);
const stream = await cpuPer(jsonStream);
const row = await logRowCost();
console.log("| part | CPU µs per request |");
console.log("|---|---:|");
console.log(`| JSON, non-streaming (request in, upstream request, answer in, answer out) | ${whole.toFixed(1)} |`);
console.log(`| JSON, streaming (22 events parsed and serialised again) | ${stream.toFixed(1)} |`);
console.log(`| a request-log row in embedded PGlite (batches of 500) | ${row.toFixed(1)} |`);
