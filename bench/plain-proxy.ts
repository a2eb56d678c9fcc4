/**
 * The plainest pass-through proxy, a second floor beside bench/bare-proxy.ts: `node:http` and
 * undici's `request` on its global dispatcher, the answer piped back; no pool tuning, no parsing,
 * no auth, no logging. The bare proxy should cost about as much as this.
 * Run: `npx tsx bench/plain-proxy.ts <port> <upstream-url>`.
 */
import http from "node:http";
import { pipeline } from "node:stream/promises";
import { request } from "undici";

export function startPlainProxy(port: number, upstream: string): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    try {
      const up = await request(new URL(req.url ?? "/", upstream), {
        method: (req.method ?? "GET") as "POST",
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        body: req,
      });
      res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "application/json") });
      await pipeline(up.body, res);
    } catch {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, upstream] = process.argv.slice(2);
  if (!port || !upstream) {
    console.error("usage: plain-proxy <port> <upstream-url>");
    process.exit(2);
  }
  await startPlainProxy(Number(port), upstream);
  console.log(`plain proxy on http://127.0.0.1:${port} → ${upstream}`);
}
