/**
 * The floor for gateway benchmarks: a pass-through proxy with node:http and an
 * undici pool — no parsing, no auth, no logging. Whatever Tollgate adds on top
 * of this is the gateway's own cost.
 * Run: `npx tsx bench/bare-proxy.ts <port> <upstream-url>`.
 */
import http from "node:http";
import { Pool } from "undici";

export function startBareProxy(port: number, upstream: string): Promise<http.Server> {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
  const server = http.createServer(async (req, res) => {
    try {
      const up = await pool.request({
        path: req.url ?? "/",
        method: (req.method ?? "GET") as "POST",
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        body: req,
      });
      res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "application/json") });
      for await (const chunk of up.body) res.write(chunk);
      res.end();
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
    console.error("usage: bare-proxy <port> <upstream-url>");
    process.exit(2);
  }
  await startBareProxy(Number(port), upstream);
  console.log(`bare proxy on http://127.0.0.1:${port} → ${upstream}`);
}
