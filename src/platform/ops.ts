/** Liveness and readiness. /readyz fails while the database is unreachable or the process is draining. */
import type { FastifyInstance } from "fastify";
import type { Database } from "./db/db.js";

export function registerOpsRoutes(app: FastifyInstance, deps: { database: Database; isDraining(): boolean }) {
  app.get("/healthz", { config: { access: { kind: "public" } }, schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { config: { access: { kind: "public" } }, schema: { hide: true } }, async (_req, reply) => {
    if (deps.isDraining()) return reply.status(503).send({ status: "draining" });
    try {
      await deps.database.ping();
      return { status: "ready", database: deps.database.kind };
    } catch {
      return reply.status(503).send({ status: "unavailable", database: "unreachable" });
    }
  });
}
