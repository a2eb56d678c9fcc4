/**
 * Routing cost per request, in process: what resolving a model name costs —
 * a `provider/model` name, a bare name, and an organization's virtual models
 * (weighted, least-latency over measured medians, fallback) — and picking one
 * of a provider's weighted credentials. Each case runs for `--seconds` on one
 * core; the figure is CPU time per call (process.cpuUsage), so what the
 * routing of a virtual model adds is its row minus the `provider/model` row.
 * Run: `npx tsx bench/routing.ts [--seconds 2]`.
 */
import { loadConfig } from "../src/config.js";
import { builtInProviders, type ProviderEntry } from "../src/gateway/catalog.js";
import { createLatencyTracker } from "../src/gateway/routing/latency.js";
import { resolveTargets, type RoutingExtras, type VirtualModel } from "../src/gateway/routing/router.js";
import { weightedOrder } from "../src/gateway/routing/weighted.js";

const i = process.argv.indexOf("--seconds");
const SECONDS = i >= 0 ? Number(process.argv[i + 1]) : 2;

const config = loadConfig({
  NODE_ENV: "production",
  TOLLGATE_SECRET: "bench-secret-bench-secret-bench-secret-01",
  OPENAI_API_KEY: "sk-bench",
});
const providers = new Map<string, ProviderEntry>(builtInProviders(config));
const model = (id: string) => ({
  id,
  prices: { inputMicroUsdPerM: 1n, cachedInputMicroUsdPerM: 1n, outputMicroUsdPerM: 1n },
});
providers.set("azure-eu", {
  slug: "azure-eu",
  name: "Azure EU",
  format: "openai",
  baseUrl: "https://example.invalid/v1",
  custom: true,
  models: new Map([["gpt-4o", model("gpt-4o")]]),
  openModelList: false,
  credentials: [
    { id: "a", apiKey: "k1", weight: 3 },
    { id: "b", apiKey: "k2", weight: 1 },
  ],
});
const virtual = (name: string, strategy: VirtualModel["strategy"]): VirtualModel => ({
  name,
  strategy,
  targets: [
    { model: "azure-eu/gpt-4o", weight: 90 },
    { model: "openai/gpt-4o", weight: 10 },
  ],
});
const latency = createLatencyTracker();
for (let n = 0; n < 32; n++) {
  latency.record("azure-eu/gpt-4o", 120 + n);
  latency.record("openai/gpt-4o", 80 + n);
}
const extras: RoutingExtras = {
  latency,
  virtuals: new Map(
    (["fallback", "weighted", "least-latency"] as const).map((s) => [`smart-${s}`, virtual(`smart-${s}`, s)]),
  ),
};
const settings = { defaultModel: null, allowedModels: [] as string[], fallbackModels: [] as string[] };

function measure(label: string, fn: () => unknown): number {
  // Warm-up, then calls in batches until the time is up; CPU time per call.
  for (let n = 0; n < 50_000; n++) fn();
  const until = Date.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  let calls = 0;
  while (Date.now() < until) {
    for (let n = 0; n < 1_000; n++) fn();
    calls += 1_000;
  }
  const cpu = process.cpuUsage(cpu0);
  const ns = ((cpu.user + cpu.system) * 1000) / calls;
  console.log(`| ${label} | ${ns.toFixed(0)} |`);
  return ns;
}

console.log(`\nrouting, CPU per call (${SECONDS} s a case)\n`);
console.log("| case | ns per call |\n|---|---:|");
const base = measure("`openai/gpt-4o` (provider/model)", () =>
  resolveTargets("openai/gpt-4o", settings, providers, extras),
);
measure("`gpt-4o` (bare name)", () => resolveTargets("gpt-4o", settings, providers, extras));
const worst = Math.max(
  measure("virtual model, fallback (2 targets)", () => resolveTargets("smart-fallback", settings, providers, extras)),
  measure("virtual model, weighted 90/10", () => resolveTargets("smart-weighted", settings, providers, extras)),
  measure("virtual model, least-latency", () => resolveTargets("smart-least-latency", settings, providers, extras)),
);
const creds = providers.get("azure-eu")!.credentials!;
const pick = measure("credential order (2 weighted)", () => weightedOrder(creds));
const added = (worst - base + pick) / 1000;
console.log(
  `\nrouting a virtual model with weighted credentials adds ${added.toFixed(2)} µs per request over a provider/model name: ${added < 5 ? "PASS" : "MISS"} (target < 5 µs)`,
);
