import { createMetering } from "./modules/billing/billing.gateway.js";
import { createNotifier } from "./modules/alerts/alerts.notifier.js";
import { createAlertService } from "./modules/alerts/alerts.service.js";
import { createGuardedDispatcher } from "./gateway/net/ssrf.js";
import { createBillingService } from "./modules/billing/billing.service.js";
import { createPaymentsService } from "./modules/payments/payments.service.js";
import { createWebhookHandler } from "./modules/payments/payments.webhooks.js";
import { createStripeClient } from "./modules/payments/stripe.client.js";
import { createPricing } from "./gateway/metering/pricing.js";
import { createLogMaintenance } from "./modules/logs/logs.retention.js";
import { createAuditService } from "./modules/audit/audit.service.js";
import { createDisabledOrgGate } from "./modules/admin/admin.gate.js";
import { createAdminService, operatorCheck } from "./modules/admin/admin.service.js";
import { grantCredits } from "./modules/billing/billing.service.js";
import { createKeyVerifier, dbKeyStore } from "./modules/keys/key-verifier.js";
import { createApiTokenService } from "./modules/api-tokens/api-tokens.service.js";
import { createTokenVerifier, dbTokenStore } from "./modules/api-tokens/api-tokens.verifier.js";
import { createKeyService } from "./modules/keys/keys.service.js";
import { createInvitationService } from "./modules/invitations/invitations.service.js";
import { createMeService } from "./modules/me/me.service.js";
import { createMemberService } from "./modules/members/members.service.js";
import { findMembership } from "./modules/organizations/organizations.repo.js";
import { createOrganizationService } from "./modules/organizations/organizations.service.js";
import { createLogService } from "./modules/logs/logs.service.js";
import { createRequestLogWriter } from "./modules/logs/logs.writer.js";
import { createSecurityGateway } from "./modules/policies/policies.gateway.js";
import { createPolicyService } from "./modules/policies/policies.service.js";
import { createProjectService } from "./modules/projects/projects.service.js";
import { createGateway } from "./gateway/gateway.js";
import type { RequestLogEntry } from "./gateway/request-log.js";
import type { GatewayFront } from "./gateway/front.js";
import { anthropicInbound } from "./gateway/inbound/anthropic.js";
import { checkJsonInput } from "./gateway/input.js";
import { invalidRequest } from "./gateway/errors.js";
import { createSecretBox } from "./platform/secretbox.js";
import { createRouting } from "./app-routing.js";
import { createResponseStore } from "./modules/responses/responses.store.js";
import { registerAuthRoutes } from "./platform/auth/auth.routes.js";
import { registerApiRoutes } from "./app-routes.js";
import { createPlaygroundService } from "./modules/playground/playground.service.js";
import { createOnboardingService } from "./modules/onboarding/onboarding.service.js";
import { startLogDestinations } from "./modules/log-destinations/log-destinations.wiring.js";
import { installAuthGuard } from "./platform/auth/guard.js";
import { SAML_ACS_PREFIX } from "./platform/auth/sso.js";
import { registerScimBridge } from "./platform/auth/scim-bridge.js";
import { joinAuthTransactions } from "./platform/auth/auth-transaction.js";
import { createRequestThrottle } from "./platform/auth/throttle.js";
import { createIdentity } from "./app-auth.js";
import { installCsrfGuard } from "./platform/http.js";
import { createMailer } from "./platform/mail.js";
import { createMetrics } from "./platform/metrics.js";
import { registerOpsRoutes } from "./platform/ops.js";
import { registerWebRoutes } from "./platform/web.js";
import { createHttpServer, VERSION } from "./platform/server.js";
import { startTracing, traceManagementApi } from "./platform/tracing.js";
import { createSharedState } from "./platform/shared-state.js";
import { createGatewayStores } from "./gateway-stores.js";

import type { App, AppOptions } from "./app-types.js";

export type { App, AppOptions };

export async function buildApp(opts: AppOptions): Promise<App> {
  const { config, database } = opts;
  const db = database.db;
  // Gateway calls (/v1/*) are answered by the gateway's own front on the bare request, ahead of
  // Fastify (see gateway/front.ts); everything else goes through Fastify.
  let gatewayFront: GatewayFront | null = null;
  const { server, routes } = await createHttpServer({ config, logger: opts.logger, front: () => gatewayFront });
  // OpenTelemetry (the OTEL_* variables): spans for gateway calls and management API requests; off when unset.
  const tracing = config.tracing ? startTracing(config.tracing, VERSION) : null;
  if (tracing) traceManagementApi(server);

  const mailer =
    opts.mailer ??
    createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir, log: opts.logger });
  // Shared state (platform/shared-state.ts): Redis when REDIS_URL is set — cache invalidation on every
  // replica, and the gateway's rate limits and credit holds (gateway-stores.ts) — else in-process.
  const shared = await createSharedState({ config, database, log: opts.logger });
  const stores = createGatewayStores({
    config,
    db,
    shared,
    log: opts.logger,
    onRateLimitFallback: () => metrics.rateLimitFallback(),
  });
  const invalidationBus = shared.bus;
  const disabledOrgs = createDisabledOrgGate({ db, bus: invalidationBus });
  const keyVerifier = createKeyVerifier({
    store: dbKeyStore(db),
    bus: invalidationBus,
    // One process (PGlite) or a working bus that reaches every replica: cache long, invalidations do the rest.
    // Replicas without one (shared PostgreSQL, no Redis; Redis down): a 1-second TTL is the revocation bound.
    ttlMs: () => invalidationBus.maxAgeMs(60_000),
    onError: (err, what) => opts.logger.error({ err }, what),
  });
  const keys = createKeyService({ db, bus: invalidationBus });
  const projects = createProjectService({
    db,
    bus: invalidationBus,
    hooks: { accessRemoved: [keys.projectAccessRemovedHook] },
  });
  const organizations = createOrganizationService({
    db,
    hooks: { orgDeleted: [(orgId) => invalidationBus.publish({ scope: "org", orgId })] },
  });
  // Organization API tokens: cached like keys (revocation through the bus), minted and revoked by the service.
  const apiTokens = createApiTokenService({ db, bus: invalidationBus });
  const tokenVerifier = createTokenVerifier({
    store: dbTokenStore(db),
    bus: invalidationBus,
    ttlMs: () => invalidationBus.maxAgeMs(60_000),
    onError: (err, what) => opts.logger.error({ err }, what),
  });
  const members = createMemberService({
    db,
    hooks: { memberRemoved: [keys.memberRemovedHook, apiTokens.memberRemovedHook] },
  });
  // `db`, but inside the auth library's transactions (sign-up gate, SSO hooks) queries join them: auth-transaction.ts.
  const authDb = joinAuthTransactions(db);
  const invitations = createInvitationService({ db: authDb, mailer, publicUrl: config.publicUrl, log: server.log });
  const me = createMeService({ db });
  const audit = createAuditService({ db });
  const logs = createLogService({ db });
  const logWriter = createRequestLogWriter({ db, dataDir: config.dataDir, log: opts.logger });
  // Log partitions and retention, in the background (one replica at a time, through a lease).
  const logMaintenance = createLogMaintenance({ db, log: opts.logger, defaultRetentionDays: config.logRetentionDays });
  // Security policies on the gateway: cached scanners per project (dropped through the bus), incidents written in batches.
  const security = createSecurityGateway({ db, bus: invalidationBus, log: opts.logger, dataDir: config.dataDir });
  const policies = createPolicyService({ db, bus: invalidationBus });
  /** A log entry's last part, once per request, by whichever writer writes the row (billing with a charge, else the log writer). */
  const prepareLog = (entry: RequestLogEntry) => {
    if (entry.policy === undefined) entry.policy = security.takeVerdict(entry.id);
  };
  const box = createSecretBox(config.secret);
  const routing = createRouting({ config, db, box, bus: invalidationBus, logger: opts.logger, gateway: () => gateway });
  const metrics = createMetrics(
    {
      logQueue: () => logWriter.stats(),
      keyCache: () => keyVerifier.stats(),
      dbPool: () => database.poolStats(),
      redisUp: shared.redisUp,
      invalidationBusUp: shared.busUp,
      rateLimitMode: stores.rateLimitMode,
      draining: () => draining,
    },
    routing.builtIns,
  );
  // Billing: credit holds and usage debits. With Redis, holds, caps and the debit queue are shared by every
  // replica (gateway/metering/redis-store.ts); else in this process (store.ts) with debits written in batches.
  const pricing = createPricing(config.billing);
  const metering = createMetering({
    db,
    store: stores.credits,
    log: opts.logger,
    dataDir: config.dataDir,
    pricing,
    credits: config.billing.credits,
    registry: metrics.registry,
    prepareLog,
  });
  const billing = createBillingService({
    db,
    live: metering,
    stripeConfigured: Boolean(config.stripe.secretKey),
    creditsEnabled: config.billing.credits,
  });
  // Billing alerts: evaluated after each usage flush; webhooks leave through the SSRF-guarded connector.
  const alertDispatcher = createGuardedDispatcher(config.allowedProviderHosts, { connectTimeoutMs: 5_000 });
  const alerts = createAlertService({
    db,
    box,
    notifier: createNotifier({ mailer, dispatcher: alertDispatcher, log: opts.logger }),
    publicUrl: config.publicUrl,
    allowedHosts: config.allowedProviderHosts,
    log: opts.logger,
    credits: config.billing.credits,
  });
  metering.onUsageFlushed((orgIds) => alerts.onUsageFlushed(orgIds));
  // Stripe top-ups, payment methods, auto top-up (checked after each usage flush) and the webhook.
  const stripe = createStripeClient(config.stripe);
  if (config.stripe.secretKey && !config.stripe.webhookSecret) {
    opts.logger.warn(
      "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: checkouts can start, but /api/v1/webhooks/stripe answers 503 and no payment is credited until it is set",
    );
  }
  const payments = createPaymentsService({
    db,
    stripe,
    publicUrl: config.publicUrl,
    log: opts.logger,
    onCredited: (orgId) => metering.invalidate(orgId),
  });
  const stripeWebhook = createWebhookHandler({
    db,
    stripe,
    webhookSecret: config.stripe.webhookSecret,
    log: opts.logger,
    payments,
    onCredited: (orgId) => metering.invalidate(orgId),
  });
  // Without prepaid credits usage only lowers the balance: an auto top-up set up before would charge the card on every flush.
  if (config.billing.credits) metering.onUsageFlushed((orgIds) => void payments.runAutoTopup(orgIds));
  const shutdown = new AbortController();
  const gateway = createGateway({
    config,
    // A disabled organization's keys are refused (organization_disabled) after the key check.
    verify: async (raw) => {
      const v = await keyVerifier.verify(raw);
      // No promise while the disabled set is fresh.
      const reading = v.ok ? disabledOrgs.check(v.ctx.orgId) : undefined;
      if (reading) await reading;
      return v;
    },
    providersFor: routing.providersFor,
    virtualModelsFor: routing.virtualModelsFor,
    pricing,
    log: (entry) => {
      // A charged request's row was written (or queued) with its charge by billing; the others are logged here.
      if (!metering.carriesLog(entry)) {
        prepareLog(entry);
        logWriter.enqueue(entry);
      }
      metrics.observeGateway(entry);
    },
    refusedWithoutKey: (endpoint, e) => metrics.observeKeylessRefusal(endpoint, e.status, e.code),
    rateLimits: stores.rateLimits,
    cache: { store: stores.responseCache, hitPricePercent: config.billing.cacheHitPricePercent },
    shutdown: shutdown.signal,
    hooks: { ...security.hooks, ...metering.hooks, ...opts.gatewayHooks },
    inboundAnthropic: anthropicInbound,
    responses: createResponseStore(db, box),
    timeouts: opts.gatewayTimeouts,
    logger: opts.logger,
    checkBody(value) {
      const check = checkJsonInput(value);
      if (!check.ok)
        throw invalidRequest(
          `invalid_body_${check.code}`,
          `${check.message}${check.path ? ` (at ${check.path})` : ""}`,
        );
    },
  });
  const { auth, signUpGate, sso, scim, throttle, closeIdentity } = createIdentity({
    config,
    db,
    authDb,
    mailer,
    logger: opts.logger,
    box,
    invitations,
    members,
    onUserCreated: (user) => organizations.createPersonalOrg(user).then(() => undefined),
  });

  installCsrfGuard(server, [config.publicUrl], ["/api/v1/webhooks/", "/v1/", SAML_ACS_PREFIX]);
  installAuthGuard(server, {
    auth,
    findMembership: (slug, userId) => findMembership(db, slug, userId),
    isOperator: operatorCheck(config.adminEmails, config.accounts.requireEmailVerification),
    requireEmailVerification: config.accounts.requireEmailVerification,
    tokens: tokenVerifier,
  });

  let draining = false;
  const admin = createAdminService({
    db,
    database,
    bus: invalidationBus,
    invalidateBalance: (orgId) => metering.invalidate(orgId),
    isDraining: () => draining,
    details: stores.details,
  });
  registerOpsRoutes(server, {
    database,
    isDraining: () => draining,
    metrics,
    metricsToken: config.metricsToken,
    details: stores.details,
  });
  registerAuthRoutes(server, {
    auth,
    throttle,
    publicUrl: config.publicUrl,
    signUpGate,
    mailThrottle: createRequestThrottle(db, config.accounts.mailThrottle),
  });
  registerScimBridge(server, { auth, publicUrl: config.publicUrl });
  registerApiRoutes(server, {
    admin,
    me,
    organizations,
    members,
    invitations,
    audit,
    tokens: apiTokens,
    projects,
    keys,
    playground: createPlaygroundService({ db, box, keys, projects }),
    onboarding: createOnboardingService({ db, projects, creditsEnabled: config.billing.credits }),
    // Set below, before the server listens.
    gatewayFront: () => gatewayFront!,
    logs,
    providers: routing.providers,
    virtualModels: routing.virtualModels,
    policies,
    billing,
    alerts,
    payments,
    webhook: stripeWebhook,
    sso,
    scim,
  });
  startLogDestinations(server, { db, box, config, log: opts.logger, timings: opts.logDestinations });
  gatewayFront = gateway.front;
  gatewayFront.register(server);
  // Once the server closes, a new gateway request on a still-open keep-alive connection gets 503 and
  // `Connection: close`, as Fastify answers its own routes then (main.ts, shutdown step 2).
  server.addHook("preClose", (done) => {
    gatewayFront?.close();
    done();
  });

  server.get("/api/openapi.json", { config: { access: { kind: "public" } }, schema: { hide: true } }, async () =>
    server.swagger(),
  );
  // The dashboard: static build + SPA fallback for browser navigations (after every API route).
  await registerWebRoutes(server);

  return {
    server,
    routes,
    keyVerifier,
    runLogRetention: (now) => logMaintenance.runOnce(now),
    flushLogs: () =>
      Promise.all([logWriter.flush(), security.flush(), metering.flush(), tokenVerifier.flush()])
        .then(() => Promise.all([alerts.idle(), payments.idle()]))
        .then(() => undefined),
    beginShutdown: () => {
      draining = true;
    },
    endInFlight: () => shutdown.abort(),
    grantCredits: async (input) => {
      const res = await grantCredits(db, input);
      metering.invalidate(res.orgId);
      return res;
    },
    metrics,
    redis: shared.redis,
    async close() {
      await server.close();
      await gateway.close();
      // Queued request logs and pending last-used times are written before the caller closes the database.
      await logWriter.close();
      await logMaintenance.close();
      await metering.close();
      // Alerts started by the last flushes get a few seconds to go out.
      await Promise.race([
        Promise.all([alerts.idle(), payments.idle()]),
        new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
      ]);
      await alertDispatcher.close();
      await closeIdentity();
      await security.close();
      await keyVerifier.close();
      disabledOrgs.close();
      await tokenVerifier.close();
      await shared.close();
      mailer.close();
      await tracing?.shutdown();
    },
    flushTraces: async () => {
      await tracing?.flush();
    },
  };
}
