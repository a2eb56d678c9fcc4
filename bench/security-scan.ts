/**
 * Security scanning cost per request: median and p99 of scanRequest on a
 * typical ~2 KB chat prompt with every detector on (all PII types at
 * "redact", secrets, prompt injection at "block"), the same prompt with a few
 * PII hits, with 10 keyword + 3 regex rules added, and the streaming output
 * scanner over the same text in 20-char chunks. Timed with process.hrtime.bigint.
 * Run: `npx tsx bench/security-scan.ts [--iterations 20000]`.
 */
import { effectivePolicy, orgPolicySchema } from "../src/gateway/security/policy.js";
import { createPolicyScanner } from "../src/gateway/security/scanner.js";
import type { ChatRequest } from "../src/gateway/types.js";
import { REDACT_ALL_PII } from "./lib/strict-policy.js";

const i = process.argv.indexOf("--iterations");
const ITER = i > 0 ? Number(process.argv[i + 1]) : 20_000;

const SYSTEM =
  "You are a helpful assistant for Acme Corp's internal developer portal. Answer concisely, cite the relevant internal docs " +
  "by title when you can, and format code in fenced blocks. If a question is about billing, direct the user to the finance team.";
const USER_PROSE =
  "Hi! I'm migrating our order service from Express 4 to Fastify 5 and I'm running into a couple of issues. First, our " +
  "middleware that parses JSON bodies seems to run twice for some routes, and the request logger prints every line two " +
  "times. Second, the error handler we registered with setErrorHandler never receives validation errors from the schema; " +
  "instead clients get a plain 400 with a message like 'body/items must NOT have fewer than 1 items'. We want our usual " +
  "envelope with a code and a request id. Third, in production we run three replicas behind nginx and sometimes see 502s " +
  "during deploys, I suspect because the old process closes keep-alive connections too early. Could you explain the plugin " +
  "encapsulation model and how hooks are inherited, suggest how to wrap validation errors in our envelope, and describe a " +
  "graceful shutdown sequence (readiness off, drain, close) that works with nginx upstream keep-alive? The service has " +
  "about 40 routes, uses TypeScript 5.9 with zod for schemas, and talks to Postgres 16 through a pool of 20 connections. " +
  "Our current timeout settings are keepAliveTimeout 5 s and headersTimeout 6 s. Thanks a lot, this has been bugging the " +
  "team for two sprints and we'd love to finally ship the migration before the end of the quarter. For context, the old " +
  "Express app used body-parser, a custom async wrapper for handlers, and a home-grown request-id middleware that read the " +
  "x-request-id header or generated a UUID. We'd like to keep the same log format (pino, one JSON line per request with " +
  "method, url, status, duration and request id) so our dashboards keep working. Bonus question: is there a clean way to " +
  "share the zod schemas between the route validation and the OpenAPI document, without writing them twice?";
const HITS =
  " PS: for the incident ticket, reach me at jane.doe@acme-corp.example or +44 20 7946 0958; the failing request came " +
  "from 10.12.0.7 and the test card was 4111 1111 1111 1111.";

const req = (user: string): ChatRequest => ({
  model: "openai/gpt-4o-mini",
  messages: [
    { role: "system", content: SYSTEM },
    { role: "user", content: user },
  ],
});
const clean = req(USER_PROSE);
const withPii = req(USER_PROSE.slice(0, USER_PROSE.length - HITS.length) + HITS);
const size = (r: ChatRequest) => r.messages.reduce((n, m) => n + String(m.content).length, 0);

const allOn = { pii: REDACT_ALL_PII, promptInjection: { action: "block" } } as const;
const rules = [
  ...[
    "Project Falcon",
    "Bluebird",
    "confidential",
    "internal only",
    "do not distribute",
    "salary",
    "acquisition",
    "layoff",
    "merger",
    "NDA",
  ].map((w, k) => ({ name: `kw${k}`, type: "keyword" as const, pattern: w, action: "log" as const })),
  { name: "ticket", type: "regex" as const, pattern: "TCK-[0-9]{4,8}", action: "redact" as const },
  { name: "employee", type: "regex" as const, pattern: "\\bEMP[0-9]{6}\\b", action: "redact" as const },
  { name: "hostname", type: "regex" as const, pattern: "[a-z0-9-]+\\.corp\\.acme\\.internal", action: "mask" as const },
];
const scanAll = createPolicyScanner(effectivePolicy(orgPolicySchema.parse(allOn)));
const scanRules = createPolicyScanner(effectivePolicy(orgPolicySchema.parse({ ...allOn, rules })));

function measure(fn: () => unknown): { median: number; p99: number } {
  for (let k = 0; k < Math.min(2000, ITER / 10); k++) fn(); // warm-up (JIT)
  const t = new Float64Array(ITER);
  for (let k = 0; k < ITER; k++) {
    const a = process.hrtime.bigint();
    fn();
    t[k] = Number(process.hrtime.bigint() - a) / 1e6;
  }
  t.sort();
  return { median: t[Math.floor(ITER / 2)]!, p99: t[Math.floor(ITER * 0.99)]! };
}

const chunks = (s: string) => s.match(/[\s\S]{1,20}/g) ?? [];
const streamCase = (scanner: typeof scanAll, text: string) => () => {
  const o = scanner.outputScanner();
  for (const c of chunks(text)) o.push(c, 0);
  o.end(0);
};

const cases: Array<[string, number, () => unknown]> = [
  ["2 KB prompt, all detectors, no hits", size(clean), () => scanAll.scanRequest(clean)],
  ["2 KB prompt, all detectors, 4 PII hits", size(withPii), () => scanAll.scanRequest(withPii)],
  ["2 KB prompt, all detectors + 13 rules", size(clean), () => scanRules.scanRequest(clean)],
  ["2 KB output streamed in 20-char chunks", USER_PROSE.length, streamCase(scanAll, USER_PROSE)],
];

console.log(`security scan bench — Node ${process.version}, ${ITER} iterations per case\n`);
console.log("case                                        chars   median ms   p99 ms");
for (const [name, chars, fn] of cases) {
  const r = measure(fn);
  console.log(
    `${name.padEnd(42)} ${String(chars).padStart(6)}   ${r.median.toFixed(4).padStart(9)}   ${r.p99.toFixed(4).padStart(6)}`,
  );
}
console.log(
  `\nfindings on the PII prompt: ${scanAll
    .scanRequest(withPii)
    .findings.map((f) => f.type)
    .join(", ")}`,
);
