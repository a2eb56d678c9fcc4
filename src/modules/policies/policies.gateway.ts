/**
 * The security policy on the gateway's hot path (GatewayHooks.scanInput /
 * outputScanner). Invariants:
 *  - one compiled scanner per project, cached in process; a cache entry is
 *    dropped when the invalidation bus says the org's policies, the project or
 *    the org changed (published after commit, carried to every replica by the
 *    shared bus) and otherwise lives `ttlMs()` — the bus decides how long that
 *    may be (short when changes cannot reach this replica);
 *  - a policy that cannot be loaded fails closed: 503 policy_unavailable, the
 *    request is not sent upstream;
 *  - a block throws 403 policy_violation from scanInput, which runs before
 *    reserve and before any upstream call, so a blocked request costs nothing;
 *  - the restore map (raw values) lives only in a WeakMap keyed by the
 *    request's context object: never logged, gone with the request;
 *  - incidents are enqueued to a batch writer (never a database write on the
 *    request path) and flushed on close; they carry masked excerpts only;
 *  - logged bodies (logBodies) are masked by the request's own policy, from
 *    the renderings its input scan recorded; a request refused before its
 *    policy is at hand (never loaded here, so a refusal costs no query) is
 *    masked by the project's cached policy, else for every PII type and secret.
 */
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { createBatchWriter, type BatchWriter } from "../../platform/batch-writer.js";
import { newId } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import { unavailable } from "../../gateway/errors.js";
import type { GatewayHooks, GatewayRequestContext, OutputScanner } from "../../gateway/hooks.js";
import {
  createPolicyScanner,
  policyViolation,
  type EffectivePolicy,
  type Finding,
  type PolicyScanner,
  type RestoreMap,
} from "../../gateway/security/index.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import * as repo from "./policies.repo.js";
import { loadEffectivePolicy } from "./policies.service.js";

/** What a request's log row shows about the policy (masked excerpts only). */
export interface PolicyVerdict {
  blocked: { type: string; ruleName?: string; direction: "input" | "output" } | null;
  findings: Array<{
    direction: "input" | "output";
    category: string;
    type: string;
    subtype?: string;
    ruleName?: string;
    action: string;
    severity: string;
    excerpt: string;
  }>;
}

interface CacheEntry {
  orgId: string;
  expiresAt: number;
  scanner: Promise<PolicyScanner>;
  /** Set once loaded: what a refusal outside the pipeline can use without waiting. */
  ready?: PolicyScanner;
}

interface RequestState {
  scanner: PolicyScanner;
  restoreMap: RestoreMap | undefined;
}

interface LogState {
  scanner: PolicyScanner;
  scanned?: { logged: Map<string, string>; restoreMap: RestoreMap };
}

/** The log's rule when the project's policy is not at hand: whatever it says, nothing detectable is kept raw. */
const UNKNOWN_POLICY: EffectivePolicy = {
  pii: { email: "mask", phone: "mask", card: "mask", ssn: "mask", iban: "mask", ip: "mask", secret: "mask" },
  promptInjection: { action: "off", threshold: 1 },
  rules: [],
  restoreRedactions: false,
};
const unknownPolicyScanner = createPolicyScanner(UNKNOWN_POLICY);

const MAX_VERDICT_FINDINGS = 50;
const MAX_PENDING_VERDICTS = 10_000;

function isForeignKeyViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === "23503") return true;
  return false;
}

export interface SecurityGateway {
  hooks: GatewayHooks;
  /** The verdict of a finished request (removed once taken), for its log row. */
  takeVerdict(requestId: string): PolicyVerdict | null;
  /** Writes queued incidents now. */
  flush(): Promise<void>;
  stats(): { cachedProjects: number; incidents: ReturnType<BatchWriter<unknown>["stats"]> };
  close(): Promise<void>;
}

export function createSecurityGateway(deps: {
  db: Db;
  bus: CacheInvalidationBus;
  log: Logger;
  dataDir: string | null;
  /** Lifetime of a cached scanner (given the preferred one). */
  ttlMs?: (preferredMs: number) => number;
  incidentIntervalMs?: number;
}): SecurityGateway {
  const cache = new Map<string, CacheEntry>();
  const requests = new WeakMap<GatewayRequestContext, RequestState>();
  const logStates = new WeakMap<GatewayRequestContext, LogState>();
  const verdicts = new Map<string, PolicyVerdict>();
  const ttl = () => (deps.ttlMs ?? deps.bus.maxAgeMs.bind(deps.bus))(60_000);

  const unsubscribe = deps.bus.subscribe((e) => {
    if (e.scope === "all") cache.clear();
    else if (e.scope === "policies" || e.scope === "org") {
      for (const [projectId, entry] of cache) if (entry.orgId === e.orgId) cache.delete(projectId);
    } else if (e.scope === "project") cache.delete(e.projectId);
  });

  const deadLetterFile = deps.dataDir ? path.join(deps.dataDir, "dead-letter", "security-incidents.jsonl") : null;
  const writer = createBatchWriter<repo.IncidentInsert>({
    name: "security-incidents",
    intervalMs: deps.incidentIntervalMs ?? 500,
    batchSize: 500,
    maxQueue: 50_000,
    async write(rows) {
      try {
        await repo.insertIncidents(deps.db, rows);
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err;
        // The project (or org) was deleted after the request: its incidents go with it, the others are kept.
        for (const row of rows) {
          try {
            await repo.insertIncidents(deps.db, [row]);
          } catch (rowErr) {
            if (!isForeignKeyViolation(rowErr)) throw rowErr;
          }
        }
      }
    },
    async deadLetter(rows, reason) {
      deps.log.error(
        { count: rows.length, reason },
        "security incidents could not be written; saved to the dead-letter file",
      );
      if (!deadLetterFile) return;
      await mkdir(path.dirname(deadLetterFile), { recursive: true });
      await appendFile(deadLetterFile, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    },
    onError: (err, attempt) =>
      deps.log.warn({ err: (err as Error).message, attempt }, "security incident batch failed; will retry"),
  });

  function scannerFor(orgId: string, projectId: string): Promise<PolicyScanner> {
    const hit = cache.get(projectId);
    if (hit && hit.expiresAt > Date.now() && hit.orgId === orgId) return hit.scanner;
    const entry: CacheEntry = {
      orgId,
      expiresAt: Date.now() + ttl(),
      scanner: loadEffectivePolicy(deps.db, orgId, projectId).then(createPolicyScanner),
    };
    cache.set(projectId, entry);
    entry.scanner.then(
      (scanner) => {
        entry.ready = scanner;
      },
      () => {
        // A failed load is not cached: the next request tries again.
        if (cache.get(projectId) === entry) cache.delete(projectId);
      },
    );
    return entry.scanner;
  }

  function record(ctx: GatewayRequestContext, findings: readonly Finding[], blocked: Finding | null) {
    if (findings.length === 0) return;
    const now = new Date();
    let verdict = verdicts.get(ctx.requestId);
    if (!verdict) {
      if (verdicts.size >= MAX_PENDING_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
      verdict = { blocked: null, findings: [] };
      verdicts.set(ctx.requestId, verdict);
    }
    for (const f of findings) {
      writer.enqueue({
        id: newId(),
        orgId: ctx.orgId,
        projectId: ctx.projectId,
        keyId: ctx.keyId,
        requestId: ctx.requestId,
        direction: f.location,
        category: f.category,
        type: f.type,
        subtype: f.subtype ?? null,
        ruleName: f.ruleName ?? null,
        ruleCategory: f.ruleCategory ?? null,
        action: f.action,
        severity: f.severity,
        excerpt: f.excerpt.slice(0, 300),
        score: f.score ?? null,
        createdAt: now,
      });
      if (verdict.findings.length < MAX_VERDICT_FINDINGS) {
        verdict.findings.push({
          direction: f.location,
          category: f.category,
          type: f.type,
          action: f.action,
          severity: f.severity,
          excerpt: f.excerpt.slice(0, 300),
          ...(f.subtype ? { subtype: f.subtype } : {}),
          ...(f.ruleName ? { ruleName: f.ruleName } : {}),
        });
      }
    }
    if (blocked && !verdict.blocked)
      verdict.blocked = {
        type: blocked.type,
        direction: blocked.location,
        ...(blocked.ruleName ? { ruleName: blocked.ruleName } : {}),
      };
  }

  const hooks: GatewayHooks = {
    async scanInput(ctx, req) {
      let scanner: PolicyScanner;
      try {
        scanner = await scannerFor(ctx.orgId, ctx.projectId);
      } catch (err) {
        deps.log.error({ err, projectId: ctx.projectId }, "security policy could not be loaded; request refused");
        throw unavailable("policy_unavailable");
      }
      const p = scanner.policy;
      const outputRules = p.rules.length > 0 || Object.values(p.pii).some((a) => a !== "off");
      const log: LogState | undefined = ctx.logBodies ? { scanner } : undefined;
      if (log) logStates.set(ctx, log);
      // Nothing enabled (an org that has not set a policy): no scan, no output hold-back.
      if (!outputRules && p.promptInjection.action === "off") return undefined;
      const logged = log ? new Map<string, string>() : undefined;
      const result = scanner.scanRequest(req, logged);
      if (log) log.scanned = { logged: logged!, restoreMap: result.restoreMap };
      record(ctx, result.findings, result.blocked);
      if (result.blocked) throw policyViolation(result.blocked);
      if (outputRules)
        requests.set(ctx, { scanner, restoreMap: result.restoreMap.size ? result.restoreMap : undefined });
      return result.request === req ? undefined : result.request;
    },

    outputScanner(ctx): OutputScanner | undefined {
      const state = requests.get(ctx);
      if (!state) return undefined;
      const inner = state.scanner.outputScanner(state.restoreMap);
      let seen = 0;
      const collect = () => {
        if (inner.findings.length > seen) {
          const fresh = inner.findings.slice(seen);
          seen = inner.findings.length;
          record(ctx, fresh, fresh.find((f) => f.action === "block") ?? null);
        }
      };
      const guarded = (fn: () => string): string => {
        try {
          return fn();
        } finally {
          collect();
        }
      };
      return {
        push: (text, choice) => guarded(() => inner.push(text, choice)),
        end: (choice) => guarded(() => inner.end(choice)),
        pushArgs: (fragment, choice, tool) => guarded(() => inner.pushArgs(fragment, choice, tool)),
        endArgs: (choice, tool) => guarded(() => inner.endArgs(choice, tool)),
      };
    },

    logMasker(ctx) {
      const state = logStates.get(ctx);
      if (state) return state.scanner.logMasker(state.scanned);
      const hit = cache.get(ctx.projectId);
      const cached = hit && hit.orgId === ctx.orgId && hit.expiresAt > Date.now() ? hit.ready : undefined;
      return (cached ?? unknownPolicyScanner).logMasker();
    },
  };

  return {
    hooks,
    takeVerdict(requestId) {
      const v = verdicts.get(requestId) ?? null;
      if (v) verdicts.delete(requestId);
      return v;
    },
    flush: () => writer.flush(),
    stats: () => ({ cachedProjects: cache.size, incidents: writer.stats() }),
    async close() {
      unsubscribe();
      await writer.close();
    },
  };
}
