/**
 * Assembles the HTTP server from its parts: platform plumbing (errors, request
 * ids, CSRF, auth guard, OpenAPI), then each domain's service and routes. The
 * services get their dependencies explicitly here; there is no container.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { registerAuditRoutes } from "./modules/audit/audit.routes.js";
import { createAuditService } from "./modules/audit/audit.service.js";
import { createLocalInvalidationBus } from "./modules/keys/invalidation-bus.js";
import { createKeyVerifier, dbKeyStore, type KeyVerifier } from "./modules/keys/key-verifier.js";
import { registerKeyRoutes } from "./modules/keys/keys.routes.js";
import { createKeyService } from "./modules/keys/keys.service.js";
import { registerInvitationRoutes } from "./modules/invitations/invitations.routes.js";
import { createInvitationService } from "./modules/invitations/invitations.service.js";
import { registerMeRoutes } from "./modules/me/me.routes.js";
import { createMeService } from "./modules/me/me.service.js";
import { registerMemberRoutes } from "./modules/members/members.routes.js";
import { createMemberService } from "./modules/members/members.service.js";
import { findMembership } from "./modules/organizations/organizations.repo.js";
import { registerOrganizationRoutes } from "./modules/organizations/organizations.routes.js";
import { createOrganizationService } from "./modules/organizations/organizations.service.js";
import { registerLogRoutes } from "./modules/logs/logs.routes.js";
import { createLogService } from "./modules/logs/logs.service.js";
import { createRequestLogWriter } from "./modules/logs/logs.writer.js";
import { createProviderDirectory } from "./modules/providers/providers.directory.js";
import { registerProviderRoutes } from "./modules/providers/providers.routes.js";
import { createProviderService } from "./modules/providers/providers.service.js";
import { registerProjectRoutes } from "./modules/projects/projects.routes.js";
import { createProjectService } from "./modules/projects/projects.service.js";
import { builtInProviders } from "./gateway/catalog.js";
import { createGateway } from "./gateway/gateway.js";
import type { GatewayHooks } from "./gateway/hooks.js";
import { anthropicInbound } from "./gateway/inbound/anthropic.js";
import { checkJsonInput } from "./gateway/input.js";
import { invalidRequest } from "./gateway/errors.js";
import type { Timeouts } from "./gateway/providers/types.js";
import { createSecretBox } from "./platform/secretbox.js";
import { createAuth } from "./platform/auth/auth.js";
import { registerAuthRoutes } from "./platform/auth/auth.routes.js";
import { installAuthGuard } from "./platform/auth/guard.js";
import { createLoginThrottle } from "./platform/auth/throttle.js";
import type { Database } from "./platform/db/db.js";
import { notFound } from "./platform/errors.js";
import { installCsrfGuard, type RouteAccess, sendError } from "./platform/http.js";
import { createMailer, type Mailer } from "./platform/mail.js";
import { registerOpsRoutes } from "./platform/ops.js";

export interface AppOptions {
  config: Config;
  database: Database;
  logger: Logger;
  mailer?: Mailer;
  /** Extension points of the gateway pipeline (security policies, billing). */
  gatewayHooks?: GatewayHooks;
  gatewayTimeouts?: Partial<Timeouts>;
}

export interface RouteInfo {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

export interface App {
  server: FastifyInstance;
  /** Every route with its declared access (the permission matrix test is generated from it). */
  routes: RouteInfo[];
  /** The gateway's API key check (digest → cached project/org context). */
  keyVerifier: KeyVerifier;
  /** Writes queued request logs now (they are otherwise written within a second). */
  flushLogs(): Promise<void>;
  /** Marks the app as draining: /readyz answers 503 from now on. */
  beginShutdown(): void;
  close(): Promise<void>;
}

/** Trust the first `hops` proxies in front of the server (X-Forwarded-For). */
const hopsTrusted = (hops: number) => (_addr: string, i: number) => i < hops;

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config, database } = opts;
  const db = database.db;
  const server = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
    trustProxy: typeof config.trustProxy === "number" ? hopsTrusted(config.trustProxy) : config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 256 },
    // Slow-loris protection: the whole request head and body must arrive in time.
    requestTimeout: 60_000,
  });
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is what a cross-site form can send without preflight.
  server.removeContentTypeParser("text/plain");
  server.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  server.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  server.setNotFoundHandler((request, reply) =>
    sendError(request, reply, notFound("ROUTE_NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}.`)),
  );

  const routes: RouteInfo[] = [];
  server.addHook("onRoute", (route) => {
    // Plugin-owned routes (the API reference page) are public documentation.
    if (route.url.startsWith("/api/docs")) route.config = { ...(route.config ?? {}), access: { kind: "public" } };
    for (const method of ([] as string[]).concat(route.method)) {
      if (method !== "HEAD") routes.push({ method, url: route.url, access: route.config?.access });
    }
  });

  await server.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Tollgate API",
        version: "0.1.0",
        description:
          "Management API of Tollgate, the self-hostable AI gateway for teams. Cookie sessions come from /api/auth; " +
          "state-changing requests with a session cookie must send an Origin header equal to the server's public URL.",
      },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: { session: { type: "apiKey", in: "cookie", name: "tollgate.session_token" } } },
    },
    transform: jsonSchemaTransform,
  });
  await server.register(swaggerUi, { routePrefix: "/api/docs" });

  const mailer = opts.mailer ?? createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir, log: opts.logger });
  // Key cache invalidation: in-process for now; a shared bus (Redis) comes with scale-out.
  const invalidationBus = createLocalInvalidationBus();
  const keyVerifier = createKeyVerifier({
    store: dbKeyStore(db),
    bus: invalidationBus,
    // One process (PGlite) or a bus that reaches every replica: cache long, invalidations do the rest.
    // Replicas on a shared PostgreSQL without one: a 1-second TTL is the revocation bound.
    ttlMs: database.kind === "pglite" || invalidationBus.crossReplica ? 60_000 : 1_000,
    onError: (err, what) => opts.logger.error({ err }, what),
  });
  const keys = createKeyService({ db, bus: invalidationBus });
  const projects = createProjectService({ db, bus: invalidationBus });
  const organizations = createOrganizationService({
    db,
    hooks: { orgDeleted: [(orgId) => invalidationBus.publish({ scope: "org", orgId })] },
  });
  const members = createMemberService({ db, hooks: { memberRemoved: [keys.memberRemovedHook] } });
  const invitations = createInvitationService({ db, mailer, publicUrl: config.publicUrl, log: server.log });
  const me = createMeService({ db });
  const audit = createAuditService({ db });
  const logs = createLogService({ db });
  const logWriter = createRequestLogWriter({ db, dataDir: config.dataDir, log: opts.logger });
  const box = createSecretBox(config.secret);
  const directory = createProviderDirectory({
    db,
    box,
    builtIns: builtInProviders(config),
    onUnreadable: (err, provider) => opts.logger.error({ err: (err as Error).message, ...provider }, "custom provider secret cannot be read; the provider is left out of routing"),
  });
  const gateway = createGateway({
    config,
    verify: (raw) => keyVerifier.verify(raw),
    providersFor: (orgId) => directory.providersFor(orgId),
    log: (entry) => logWriter.enqueue(entry),
    hooks: opts.gatewayHooks,
    inboundAnthropic: anthropicInbound,
    timeouts: opts.gatewayTimeouts,
    checkBody(value) {
      const check = checkJsonInput(value);
      if (!check.ok) throw invalidRequest(`invalid_body_${check.code}`, `${check.message}${check.path ? ` (at ${check.path})` : ""}`);
    },
  });
  const providers = createProviderService({ db, box, directory, allowedHosts: config.allowedProviderHosts, probe: (entry, model) => gateway.probe(entry, model) });
  const auth = createAuth(config, db, { onUserCreated: (user) => organizations.createPersonalOrg(user).then(() => undefined) });
  const throttle = createLoginThrottle(db, config.loginThrottle);

  installCsrfGuard(server, [config.publicUrl], ["/api/v1/webhooks/", "/v1/"]);
  installAuthGuard(server, { auth, findMembership: (slug, userId) => findMembership(db, slug, userId) });

  let draining = false;
  registerOpsRoutes(server, { database, isDraining: () => draining });
  registerAuthRoutes(server, { auth, throttle, publicUrl: config.publicUrl });
  registerMeRoutes(server, { me });
  registerOrganizationRoutes(server, { organizations });
  registerMemberRoutes(server, { members });
  registerInvitationRoutes(server, { invitations });
  registerAuditRoutes(server, { audit });
  registerProjectRoutes(server, { projects });
  registerKeyRoutes(server, { keys, projects });
  registerLogRoutes(server, { logs });
  registerProviderRoutes(server, { providers });
  gateway.register(server);

  server.get("/api/openapi.json", { config: { access: { kind: "public" } }, schema: { hide: true } }, async () => server.swagger());

  return {
    server,
    routes,
    keyVerifier,
    flushLogs: () => logWriter.flush(),
    beginShutdown: () => {
      draining = true;
    },
    async close() {
      await server.close();
      await gateway.close();
      // Queued request logs and pending last-used times are written before the caller closes the database.
      await logWriter.close();
      await keyVerifier.close();
      await invalidationBus.close();
      mailer.close();
    },
  };
}
