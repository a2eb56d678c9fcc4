/**
 * What tracing costs a gateway request when it is off (no OTEL endpoint): the
 * three places a request passes — the call's server span, each upstream
 * attempt's client span, the traceparent for the upstream request — each
 * measured against calling straight through, CPU per request
 * (process.cpuUsage). Run: `npx tsx bench/tracing-off.ts [--seconds 2]`.
 */
import { injectTraceContext, traceAttempt, traceCall } from "../src/gateway/trace.js";
import type { RequestLogEntry } from "../src/gateway/request-log.js";

const i = process.argv.indexOf("--seconds");
const SECONDS = i >= 0 ? Number(process.argv[i + 1]) : 2;
const headers = { authorization: "Bearer x", "content-type": "application/json" };
const entry = {} as RequestLogEntry;
const target = { name: "openai/gpt-4o", model: "gpt-4o", provider: "openai" };
const work = async () => 1;

async function measure(fn: () => Promise<unknown>): Promise<number> {
  for (let n = 0; n < 50_000; n++) await fn();
  const until = Date.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  let calls = 0;
  while (Date.now() < until) {
    for (let n = 0; n < 1_000; n++) await fn();
    calls += 1_000;
  }
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / calls;
}

const direct = await measure(async () => {
  await work();
  await work();
  const h: Record<string, string> = { ...headers };
  return h;
});
const traced = await measure(() =>
  traceCall(
    headers,
    "chat",
    async () => {
      await traceAttempt(target, work);
      const h: Record<string, string> = { ...headers };
      injectTraceContext(h);
    },
    () => entry,
  ),
);
console.log(`\ntracing off, CPU per request (${SECONDS} s each)\n`);
console.log("| path | ns per request |\n|---|---:|");
console.log(`| straight through | ${direct.toFixed(0)} |`);
console.log(`| through the tracing helpers (off) | ${traced.toFixed(0)} |`);
const added = (traced - direct) / 1000;
console.log(`\ntracing off adds ${added.toFixed(3)} µs per request: ${added <= 10 ? "PASS" : "MISS"} (target ≤ 10 µs)`);
