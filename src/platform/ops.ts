/**
 * Liveness, readiness and metrics.
 *  - /healthz: the process answers.
 *  - /readyz: 503 while draining (shutdown) or while the database is
 *    unreachable; otherwise 200 with the state of the shared parts. Redis being
 *    down does NOT fail readiness: every replica shares the same Redis, so
 *    failing them all would take the whole service down for what is a degraded
 *    mode (rate limits counted per replica, caches on a short TTL); the body
 *    and /metrics say so.
 *  - /metrics: Prometheus text. Public unless TOLLGATE_METRICS_TOKEN is set,
 *    then only with `Authorization: Bearer <token>` (constant-time compare).
 */
import type { FastifyInstance } from "fastify";
import { safeEqual } from "./crypto.js";
import type { Database } from "./db/db.js";
import { appError } from "./errors.js";
import type { Metrics } from "./metrics.js";

export interface OpsDeps {
  database: Database;
  isDraining(): boolean;
  metrics?: Metrics;
  metricsToken?: string;
  /** Extra readiness details (Redis, rate-limit mode, invalidation bus…), shown in the /readyz body. */
  details?(): Record<string, string>;
}

export function registerOpsRoutes(app: FastifyInstance, deps: OpsDeps) {
  const m = deps.metrics;
  // Registered before the other routes so it applies to all of them. Hijacked
  // responses (gateway streams) are counted by the gateway metrics instead.
  if (m) {
    app.addHook("onResponse", (request, reply, done) => {
      const route = request.routeOptions.url ?? "unmatched";
      // Gateway calls (/v1/*) are counted once, by the gateway metrics.
      if (!route.startsWith("/v1/")) m.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
  app.get("/healthz", { config: { access: { kind: "public" } }, schema: { hide: true } }, async () => ({
    status: "ok",
  }));
  app.get("/readyz", { config: { access: { kind: "public" } }, schema: { hide: true } }, async (_req, reply) => {
    const details = deps.details?.() ?? {};
    if (deps.isDraining()) return reply.status(503).send({ status: "draining", ...details });
    try {
      await deps.database.ping();
      return { status: "ready", database: deps.database.kind, ...details };
    } catch {
      return reply.status(503).send({ status: "unavailable", database: "unreachable", ...details });
    }
  });
  const metrics = deps.metrics;
  if (metrics) {
    app.get("/metrics", { config: { access: { kind: "public" } }, schema: { hide: true } }, async (req, reply) => {
      if (deps.metricsToken) {
        const auth = req.headers.authorization ?? "";
        const given = /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, "").trim() : "";
        if (!given || !safeEqual(given, deps.metricsToken)) {
          throw appError("UNAUTHENTICATED", "Send the metrics token as `Authorization: Bearer <token>`.", undefined, {
            "www-authenticate": 'Bearer realm="metrics"',
          });
        }
      }
      const out = await metrics.render();
      return reply.type(out.contentType).send(out.body);
    });
  }
}
