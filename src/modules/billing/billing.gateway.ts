/**
 * Metering on the gateway (the admitRoute/reserve/settle hooks). Per request:
 *  - admitRoute: a model no price covers is refused (400 `model_not_priced`)
 *    unless the operator allows unpriced models; a test key may only use routes
 *    that cost the operator nothing (free models, the org's own providers) —
 *    403 `test_key_model_not_allowed` otherwise;
 *  - reserve: a true upper bound of the cost — every input byte as a token (at most
 *    the context window when the provider refuses more), images at their maximum,
 *    n × the output limit (the request's, else the model's), audio's bounded seconds
 *    at a per-hour price, at the dearest rate of the dearest route it may fall back to. Admitted only if the org's available credits and the
 *    project's monthly cap both cover it, else 402 `insufficient_credits` /
 *    `spend_cap_reached`. Test keys are held and capped like live keys;
 *  - settle (exactly once, idempotent by request id): the provider's reported
 *    usage × the served route's price, every component. NEVER capped by the
 *    hold: a charge above it (an overrun) is charged in full, counted in
 *    `tollgate_billing_overruns_total` and logged; the balance then dips below
 *    zero by that overrun at most, and the next request is refused;
 *  - the charge is queued and written in batches: per flush one usage ledger
 *    row per (org, project, hour), the report rows (key × model, tag, end user)
 *    and the charged requests' log rows, in one transaction (billing.charges.ts):
 *    a charge and its log row are kept or lost together. With Redis both wait in
 *    Redis; without, in this process (a hard crash loses at most 50 ms of them).
 *    A graceful close flushes everything (see docs/billing.md).
 * With prepaid credits off (TOLLGATE_BILLING=off) the balance is never checked;
 * usage is metered, priced, reported and held against project caps the same way.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { modelNotPriced, testKeyModelNotAllowed } from "../../gateway/errors.js";
import type { GatewayHooks, GatewayRequestContext, ReserveInput, RouteInfo } from "../../gateway/hooks.js";
import { costMicroUsd, usageTokens, worstCaseMicroUsd } from "../../gateway/metering/cost.js";
import type { Pricing } from "../../gateway/metering/pricing.js";
import type { RequestLogEntry } from "../../gateway/request-log.js";
import type { QueuedDebit } from "../../gateway/metering/redis-store.js";
import type { ReservationStore, ReserveResult, SpendCap } from "../../gateway/metering/store.js";
import type { Db } from "../../platform/db/db.js";
import { inputTokensOn, outputTokensOn } from "../../gateway/tokens.js";
import { logRowJson } from "../logs/logs.writer.js";
import { createChargeWriter, decodeQueued, encodeQueued, writeCharges } from "./billing.charges.js";
import { spendCapsOf } from "./billing.caps.js";
import { createLocalCaps } from "./billing.local-caps.js";
import { createMeteringMetrics } from "./billing.metrics.js";
import { refusal } from "./billing.refusals.js";
import type * as repo from "./billing.repo.js";

interface Hold {
  amount: bigint;
  /** The spend caps it was checked and counted against. */
  caps: readonly SpendCap[];
}

/** A store that queues debits itself (Redis) gets the writer of claimed batches from metering. */
export type StoreFactory = (writeBatch: (batchId: string, debits: QueuedDebit[]) => Promise<void>) => ReservationStore;

export interface MeteringOptions {
  db: Db;
  store: ReservationStore | StoreFactory;
  log: Logger;
  dataDir: string | null;
  pricing: Pricing;
  /** false: prepaid credits are off (TOLLGATE_BILLING=off): no balance check (the store is built to match). */
  credits?: boolean;
  /** How often this process writes its queued charges (and their log rows): what a hard crash may lose. */
  flushIntervalMs?: number;
  /** Completes a charged request's log entry before billing writes it with the charge (the security verdict). */
  prepareLog?(entry: RequestLogEntry): void;
  /** Holds older than this are released by the reconciler (a request that never settled). */
  staleHoldMs?: number;
  /** Prometheus registry for the reservation and debit-queue metrics. */
  registry?: Registry;
}

/** `percent` % of an amount, rounded up to the micro-USD (all of it without a percent). */
const share = (amount: bigint, percent: number | undefined) =>
  percent === undefined ? amount : (amount * BigInt(percent) + 99n) / 100n;

const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);

/**
 * Bytes of queued entries in Redis past which a log row travels without its bodies (up to 2 × 64 KB
 * each): the queue normally holds about a second of charged traffic; when the database falls behind it
 * grows, and Redis memory (which holds every credit hold) must not go with it. The row itself, ~1–3 KB,
 * still travels with its charge.
 */
const QUEUE_BODY_BUDGET = 256 * 1024 * 1024;
const BODIES_OMITTED = {
  omitted: "the billing queue in Redis was over its size budget (the database was behind): bodies were not kept",
};

export function createMetering(opts: MeteringOptions) {
  const pricing = opts.pricing;
  const store: ReservationStore & { queueBytes?(): number } =
    typeof opts.store === "function"
      ? opts.store(async (batchId, queued) => {
          const charges = queued.map(decodeQueued);
          const debits = charges.map((c) => c.debit);
          if (
            await writeCharges(
              opts.db,
              debits,
              charges.flatMap((c) => (c.log ? [c.log] : [])),
              batchId,
            )
          )
            notifyFlushed(new Set(debits.map((r) => r.orgId)));
        })
      : opts.store;
  /** Log entries written with their charge (the request-log writer skips them). */
  const carried = new WeakSet<RequestLogEntry>();
  let lastBodiesWarning = 0;
  // Spend caps counted here when the store leaves them to the caller (no Redis).
  const localCaps = createLocalCaps();
  /** Told after usage debits reached the ledger (balances fell): alerts and auto top-up check their thresholds. */
  const flushListeners: Array<(orgIds: string[]) => void> = [];

  const writer = createChargeWriter({
    db: opts.db,
    dataDir: opts.dataDir,
    log: opts.log,
    intervalMs: opts.flushIntervalMs ?? 50,
    async commit(write, perOrg, perCap) {
      await store.commitFlush(write, perOrg);
      localCaps.flushed(perCap);
      notifyFlushed(perOrg.keys());
    },
  });

  const metrics = createMeteringMetrics(opts.registry, {
    localQueued: () => writer.stats().queued,
    sharedQueued: (store as { queueDepth?: () => Promise<number> }).queueDepth?.bind(store),
  });

  function notifyFlushed(orgs: Iterable<string>) {
    const orgIds = [...orgs];
    for (const fn of flushListeners) {
      try {
        fn(orgIds);
      } catch (err) {
        opts.log.error({ err }, "usage-flushed listener failed");
      }
    }
  }

  const reconciler = setInterval(() => {
    store.releaseStale(opts.staleHoldMs ?? 15 * 60_000).then(
      (n) => {
        if (n > 0) opts.log.warn({ released: n }, "released credit holds of requests that never settled");
      },
      (err) => opts.log.warn({ err: (err as Error).message }, "releasing stale credit holds failed"),
    );
  }, 60_000);
  reconciler.unref();

  /** The most this route can cost for this request (0 on a free route). */
  function boundOn(route: RouteInfo, input: ReserveInput): bigint {
    const price = pricing.of(route);
    if (!price || price.free) return 0n;
    const asked = route.askedOutputTokens ?? input.maxOutputTokens;
    const output = input.noOutput ? 0 : outputTokensOn(route, asked, input.choices);
    const extra = { audioSeconds: input.audioSeconds, toolCalls: input.input.serverToolCalls };
    return share(
      worstCaseMicroUsd(inputTokensOn(route, input.input), output, price.prices, price.markup, extra),
      input.pricePercent,
    );
  }

  const hooks: Required<Pick<GatewayHooks, "admitRoute" | "reserve" | "settle">> = {
    admitRoute(ctx, route) {
      const price = pricing.of(route);
      if (!price) {
        if (!pricing.allowUnpriced) throw modelNotPriced(`${route.provider}/${route.model}`);
        return;
      }
      // A test key never spends the operator's provider money: free routes and the org's own providers only.
      if (ctx.environment === "test" && !route.custom && !price.free)
        throw testKeyModelNotAllowed(`${route.provider}/${route.model}`);
    },

    async reserve(ctx: GatewayRequestContext, input) {
      try {
        const hold = await reserveHold(ctx, input);
        const held = hold.amount > 0n;
        (held ? metrics.admitted : metrics.free).value++;
        if (held) metrics.state.holdsInFlight++;
        return hold;
      } catch (err) {
        metrics.reservations.series([(err as { code?: string }).code ?? "error"]).value++;
        throw err;
      }
    },

    async settle(ctx, reservation, input) {
      const hold = reservation as Hold;
      if (hold.amount > 0n) metrics.state.holdsInFlight--;
      return settleHold(ctx, hold, input);
    },
  };

  async function reserveHold(ctx: GatewayRequestContext, input: ReserveInput): Promise<Hold> {
    // The dearest route the request may be served by (a fallback can cost more than the primary).
    let amount = 0n;
    for (const route of input.routes) {
      const b = boundOn(route, input);
      if (b > amount) amount = b;
    }
    const caps = spendCapsOf(opts.db, ctx);
    const hold: Hold = { amount, caps };
    const reveal = ctx.revealBalance === true;
    if (store.enforcesCaps) {
      // A free request holds nothing and cannot pass a cap: served even while the shared store is unreachable.
      if (amount === 0n) return hold;
      // The shared store checks the balance and every cap in one atomic step (every replica). The caps as the
      // verified key carries them (a settings change reaches it through the key cache's invalidation).
      const res = await store.reserve({ orgId: ctx.orgId, requestId: ctx.requestId, amount, caps });
      if (!res.ok) throw refusal(res, amount, reveal, ctx.endUser);
      return hold;
    }
    const passed = await localCaps.hold(caps, amount);
    if (passed) throw refusal({ ok: false, reason: "cap", ...passed }, amount, reveal, ctx.endUser);
    let ok: ReserveResult;
    try {
      ok = await store.reserve({ orgId: ctx.orgId, requestId: ctx.requestId, amount });
    } catch (err) {
      localCaps.release(caps, amount);
      throw err;
    }
    if (!ok.ok) {
      localCaps.release(caps, amount);
      throw refusal(ok, amount, reveal, ctx.endUser);
    }
    return hold;
  }

  async function settleHold(
    ctx: GatewayRequestContext,
    hold: Hold,
    input: Parameters<NonNullable<GatewayHooks["settle"]>>[2],
  ) {
    // The served route (after a fallback, the model that answered) at its own price, in full.
    const price = input.route && input.usage ? pricing.of(input.route) : null;
    const cost =
      price && !price.free ? share(costMicroUsd(input.usage!, price.prices, price.markup), input.pricePercent) : 0n;
    if (cost > hold.amount) {
      metrics.overruns.value++;
      opts.log.warn(
        {
          reqId: ctx.requestId,
          orgId: ctx.orgId,
          model: `${input.route!.provider}/${input.route!.model}`,
          holdMicroUsd: hold.amount.toString(),
          costMicroUsd: cost.toString(),
        },
        "usage exceeded the credit hold; charged in full",
      );
    }
    const t = usageTokens(input.usage);
    // Built whole, with its cost filled in below: spreading an object this size into a new one
    // ({ ...debit, costMicroUsd }) takes V8's slow path, microseconds per request.
    const debit: repo.UsageDebit = {
      orgId: ctx.orgId,
      projectId: ctx.projectId,
      keyId: ctx.keyId,
      model: input.route ? `${input.route.provider}/${input.route.model}` : "unknown",
      // The hour the request started (= its log row's hour): `billing verify` compares them hour by hour.
      hour: hourOf(ctx.startedAt ?? new Date()),
      requests: 1,
      inputTokens: BigInt(t.inputTokens),
      cachedInputTokens: BigInt(t.cachedInputTokens),
      outputTokens: BigInt(t.outputTokens),
      costMicroUsd: 0n,
      tags: input.log?.tags ?? null,
      user: input.log?.user ?? null,
    };
    // A charged request's log row travels with its charge (billing.charges.ts): both are written, or neither.
    const log = cost > 0n ? (input.log ?? null) : null;
    if (log) {
      log.costMicroUsd = cost;
      opts.prepareLog?.(log);
    }
    const settled = await store.settle(
      ctx.orgId,
      ctx.requestId,
      cost,
      store.enforcesCaps ? { entry: encodeQueued(debit, log && queuedRow(log)) } : undefined,
    );
    if (log) carried.add(log);
    // The balance goes back to the client only for keys that may learn it (created by an owner or admin).
    const reveal = ctx.revealBalance === true;
    if (settled.queued)
      return { costMicroUsd: settled.charged, balanceMicroUsd: reveal ? settled.balanceMicroUsd : undefined };
    // Written by this process: the memory store's charge, or the shared store could not be reached.
    const charged = settled.charged;
    if (!store.enforcesCaps) {
      localCaps.charged(hold.caps, hold.amount, charged);
      debit.caps = hold.caps.map((c) => c.id);
    }
    debit.costMicroUsd = charged;
    writer.enqueue({ debit, log });
    const balanceMicroUsd = store.enforcesCaps || !reveal ? undefined : settled.balanceMicroUsd;
    return { costMicroUsd: charged, balanceMicroUsd };
  }

  /** A log row as queued in Redis with its charge: without its bodies while the queue is over its budget. */
  function queuedRow(log: RequestLogEntry): string {
    if ((store.queueBytes?.() ?? 0) <= QUEUE_BODY_BUDGET || (log.requestBody == null && log.responseBody == null))
      return logRowJson(log).json;
    if (Date.now() - lastBodiesWarning > 60_000) {
      lastBodiesWarning = Date.now();
      opts.log.warn(
        { queueBytes: store.queueBytes?.() },
        "the billing queue in redis is over its size budget (the database is not keeping up): request-log rows of charged requests are queued without their bodies",
      );
    }
    return logRowJson({
      ...log,
      requestBody: log.requestBody == null ? null : BODIES_OMITTED,
      responseBody: log.responseBody == null ? null : BODIES_OMITTED,
    }).json;
  }

  return {
    hooks,
    /** True when the entry was written (or queued) with its request's charge: the request-log writer must skip it. */
    carriesLog: (entry: RequestLogEntry) => carried.has(entry),
    /** Settled charges not yet written, and holds in flight, for the billing page. */
    async snapshot(orgId: string) {
      return store.snapshot(orgId);
    },
    invalidate: (orgId: string) => store.invalidate(orgId),
    /** Runs `fn(orgIds)` after each batch of usage debits is in the ledger (must not throw; do async work detached). */
    onUsageFlushed(fn: (orgIds: string[]) => void) {
      flushListeners.push(fn);
    },
    /** Writes every settled charge to the ledger now (this process's queue, and the shared queue with Redis). */
    async flush() {
      await writer.flush();
      await (store as { drain?: () => Promise<number> }).drain?.();
    },
    stats: () => writer.stats(),
    async close() {
      clearInterval(reconciler);
      await writer.close();
      await (store as { close?: () => Promise<void> }).close?.();
    },
  };
}
