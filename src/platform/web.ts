/**
 * Serves the dashboard (the Vite build in `dist/web`) from the Tollgate server.
 *
 * One public catch-all GET route, tried only after every API route:
 *  - `/assets/*`: hashed build files, cached for a year (`immutable`); a
 *    missing asset is a 404, never index.html (a stale page must fail loudly);
 *  - any other path that names an existing top-level file is served with a
 *    short cache;
 *  - otherwise, a browser navigation (Accept: text/html) gets index.html
 *    (no-cache, so a deploy is picked up at once) and the SPA routes it;
 *  - API, gateway and ops paths (`/api/*`, `/v1/*`, `/healthz`, `/readyz`,
 *    `/metrics`) never fall back to HTML: unknown ones keep the JSON 404.
 * Without a build, a browser gets a short page saying how to build it.
 * The HTML carries a Content-Security-Policy (own origin only) and refuses
 * framing, so the dashboard cannot be clickjacked.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { appError } from "./errors.js";

/** `<repo>/dist/web`, from both `src/platform` (tsx, tests) and `dist/platform` (built server). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../../dist/web/", import.meta.url));

const NEVER_HTML = [/^\/api(\/|$)/, /^\/v1(\/|$)/, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/];

// Mantine sets CSS variables in inline <style> elements, hence 'unsafe-inline' for styles only.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function securityHeaders(reply: FastifyReply): void {
  reply.header("content-security-policy", CSP);
  reply.header("x-frame-options", "DENY");
  reply.header("x-content-type-options", "nosniff");
  reply.header("referrer-policy", "same-origin");
}

const MISSING_BUILD = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tollgate</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5">
<h1>Tollgate is running</h1>
<p>The API and the gateway are up, but the dashboard has not been built on this server.</p>
<p>Build it with <code>npm run build</code> (or <code>npm start</code>, which builds first), then reload this page.</p>
<p>The API reference is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>`;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export async function registerWebRoutes(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = path.resolve(opts.root ?? DEFAULT_WEB_ROOT);
  // The reply decorator only: the route below decides what may be served.
  await app.register(fastifyStatic, { root, serve: false, wildcard: false, index: false, dotfiles: "deny" });

  const routeNotFound = (request: FastifyRequest) =>
    appError("ROUTE_NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}.`);

  app.get("/*", { config: { access: { kind: "public" } }, schema: { hide: true } }, async (request, reply) => {
    const pathname = request.url.split("?")[0]!;
    if (NEVER_HTML.some((re) => re.test(pathname))) throw routeNotFound(request);

    let rel: string;
    try {
      rel = decodeURIComponent(pathname).replace(/^\/+/, "");
    } catch {
      throw routeNotFound(request);
    }
    // Inside the build directory only (no `..`, no absolute paths, no dotfiles).
    const resolved = path.resolve(root, rel);
    const inside = resolved.startsWith(root + path.sep) && !rel.split("/").some((seg) => seg.startsWith("."));

    if (rel.startsWith("assets/")) {
      if (!inside || !isFile(resolved)) throw routeNotFound(request);
      return reply.sendFile(rel, root, { maxAge: 365 * 24 * 3600 * 1000, immutable: true });
    }
    if (inside && rel && !rel.includes("/") && rel !== "index.html" && isFile(resolved)) {
      return reply.sendFile(rel, root, { maxAge: 3600 * 1000, immutable: false });
    }

    const accept = String(request.headers.accept ?? "");
    if (!accept.includes("text/html")) throw routeNotFound(request);
    securityHeaders(reply);
    if (!existsSync(path.join(root, "index.html"))) {
      return reply.status(503).type("text/html; charset=utf-8").header("cache-control", "no-store").send(MISSING_BUILD);
    }
    reply.header("cache-control", "no-cache");
    return reply.sendFile("index.html", root, { cacheControl: false });
  });
}
