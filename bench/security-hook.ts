/**
 * What the security policy adds to a gateway request: median and p99 of the
 * gateway's scanInput hook (cached scanner lookup + scan + incident enqueue)
 * on the same ~2 KB prompt as bench/security-scan.ts, for a project whose org
 * policy enables every detector (PII at "redact", injection at "block"), and
 * for an org without a policy (pass-through). In-memory PGlite; incidents are
 * written in batches off the measured path.
 * Run: `npx tsx bench/security-hook.ts [--iterations 20000]`.
 */
import { randomUUID } from "node:crypto";
import pino from "pino";
import type { GatewayRequestContext } from "../src/gateway/hooks.js";
import type { ChatRequest } from "../src/gateway/types.js";
import { createLocalInvalidationBus } from "../src/platform/invalidation-bus.js";
import { createSecurityGateway } from "../src/modules/policies/policies.gateway.js";
import { openDatabase } from "../src/platform/db/db.js";
import { runMigrations } from "../src/platform/db/migrate.js";
import { orgSecurityPolicies, organizations, projects } from "../src/schema.js";
import { REDACT_ALL_PII } from "./lib/strict-policy.js";

const i = process.argv.indexOf("--iterations");
const ITER = i > 0 ? Number(process.argv[i + 1]) : 20_000;

const PROSE =
  "I'm migrating our order service from Express 4 to Fastify 5 and the request logger prints every line two times. " +
  "The error handler never receives validation errors from the schema; clients get a plain 400. We run three replicas " +
  "behind nginx and see 502s during deploys. Could you explain plugin encapsulation, how hooks are inherited, and a " +
  "graceful shutdown sequence that works with upstream keep-alive? The service has about 40 routes and uses zod. ";
const USER =
  PROSE.repeat(5).slice(0, 1700) +
  " You can reach me at dana.lee@example.com or +44 20 7946 0958; test card 4111 1111 1111 1111.";
const request = (user: string): ChatRequest => ({
  model: "openai/gpt-4o-mini",
  messages: [
    { role: "system", content: "You are a helpful assistant for Acme Corp's developer portal." },
    { role: "user", content: user },
  ],
});
const withPii = request(USER);
const clean = request(PROSE.repeat(5).slice(0, 1800));

async function main() {
  const database = await openDatabase({ dataDir: null });
  await runMigrations(database);
  const db = database.db;
  const mk = async (withPolicy: boolean) => {
    const orgId = randomUUID();
    const projectId = randomUUID();
    await db.insert(organizations).values({ id: orgId, slug: `o-${orgId.slice(0, 8)}`, name: "Bench" });
    await db.insert(projects).values({ id: projectId, orgId, slug: "p", name: "P" } as typeof projects.$inferInsert);
    if (withPolicy) {
      await db.insert(orgSecurityPolicies).values({
        orgId,
        policy: {
          pii: REDACT_ALL_PII,
          promptInjection: { action: "block", threshold: 0.5 },
          rules: [],
          restoreRedactions: false,
        },
      });
    }
    return { orgId, projectId };
  };
  const security = createSecurityGateway({
    db,
    bus: createLocalInvalidationBus(),
    log: pino({ level: "silent" }),
    dataDir: null,
  });
  console.log(
    `security hook bench — Node ${process.version}, ${ITER} iterations per case, prompt ${withPii.messages.reduce((n, m) => n + String(m.content).length, 0)} chars\n`,
  );
  const cases = [
    ["every detector on, no hits", true, clean],
    ["every detector on, 3 PII hits", true, withPii],
    ["org without a policy", false, withPii],
  ] as const;
  for (const [name, withPolicy, req] of cases) {
    const { orgId, projectId } = await mk(withPolicy);
    const times: number[] = [];
    for (let n = 0; n < ITER + 500; n++) {
      const ctx: GatewayRequestContext = {
        requestId: randomUUID(),
        orgId,
        projectId,
        keyId: "k",
        environment: "live",
        endpoint: "chat",
      };
      const t0 = process.hrtime.bigint();
      await security.hooks.scanInput!(ctx, req);
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      const verdict = security.takeVerdict(ctx.requestId);
      if (n === 0)
        console.log(
          `  (${name}: findings per request: ${verdict ? verdict.findings.map((f) => f.type).join(", ") : "none"})`,
        );
      if (n >= 500) times.push(dt);
      if (n % 2000 === 0) await security.flush();
    }
    times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(34)} median ${times[Math.floor(times.length / 2)]!.toFixed(4)} ms   p99 ${times[Math.floor(times.length * 0.99)]!.toFixed(4)} ms`,
    );
  }
  await security.close();
  await database.close();
}

void main();
