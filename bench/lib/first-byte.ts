/**
 * The `s1` scenario: one keep-alive connection sends the streaming chat request back to back for the
 * duration and times, for every response, the first byte of its body (the first SSE bytes, not the
 * headers) and the whole response. autocannon only reports whole-response times.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import type { Measurement, Scenario } from "./measurement.js";
import { cpuMs, sleep } from "./processes.js";
import { percentile } from "./stats.js";
import { bodyFor, type Target, urlFor } from "./targets.js";

interface Timed {
  status: number;
  firstMs: number;
  totalMs: number;
  complete: boolean;
}

function timedRequest(url: URL, agent: http.Agent, headers: http.OutgoingHttpHeaders, body: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers, agent, timeout: 10_000 },
      (res) => {
        let firstMs = NaN;
        let tail = "";
        res.on("data", (chunk: Buffer) => {
          if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
          tail = (tail + chunk.toString("latin1")).slice(-64);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            firstMs,
            totalMs: performance.now() - t0,
            complete: tail.includes("[DONE]"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out after 10 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Sequential streaming requests for `seconds`; p50/p99 are whole-response times, firstByte* the first body byte. */
export async function sequentialStream(t: Target, s: Scenario, seconds: number): Promise<Measurement> {
  const url = new URL(urlFor(t, s.api));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = bodyFor(t.name, true, s.api);
  const headers = {
    ...t.headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  };
  const pid = t.proc.child.pid!;
  const first: number[] = [];
  const total: number[] = [];
  let bad = 0;
  const cpu0 = cpuMs(pid);
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    while (performance.now() < end) {
      try {
        const r = await timedRequest(url, agent, headers, body);
        // The Responses stream has no [DONE]; any 2xx with a body counts there.
        const ok =
          r.status >= 200 && r.status < 300 && Number.isFinite(r.firstMs) && (r.complete || s.api === "responses");
        if (ok) {
          first.push(r.firstMs);
          total.push(r.totalMs);
        } else bad++;
      } catch {
        bad++;
        await sleep(10); // a refused connection fails at once: no hot loop
      }
    }
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  const sortedTotal = Float64Array.from(total).sort();
  const sortedFirst = Float64Array.from(first).sort();
  return {
    rps: total.length / elapsed,
    p50: percentile(sortedTotal, 50),
    p99: percentile(sortedTotal, 99),
    bad,
    cpuUs: total.length ? ((cpuMs(pid) - cpu0) * 1000) / total.length : NaN,
    firstByteP50: percentile(sortedFirst, 50),
    firstByteP99: percentile(sortedFirst, 99),
  };
}
