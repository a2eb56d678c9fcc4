/**
 * The operator console's rules. Only instance operators reach these methods
 * (the `operator` route access); each change is audited with the operator as
 * actor, in the transaction of the change:
 *  - credits: a grant (ledger kind `grant`) or a deduction (kind `adjustment`,
 *    negative) through the billing ledger, with a note; the balance caches of
 *    this process are dropped at once, so the next read and the next gateway
 *    admission see it;
 *  - disable/enable: a row in `disabled_organizations` plus `org.disabled` /
 *    `org.enabled` in the audit log; an `org` invalidation event tells every
 *    replica's gate (admin.gate.ts) and key cache.
 */
import { readFileSync } from "node:fs";
import type { Actor } from "../../platform/auth/guard.js";
import { type AuditActor, recordAudit } from "../../platform/audit.js";
import { monthStart } from "../../platform/calendar.js";
import { newId } from "../../platform/crypto.js";
import type { Database, Db } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import { formatUsd } from "../../platform/money.js";
import { moneyValues } from "../../platform/money-fields.js";
import { postLedgerEntry } from "../billing/billing.repo.js";
import * as repo from "./admin.repo.js";

/** The application's version, from package.json (one directory above src/ and dist/). */
const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
})();

const STARTED_AT = Date.now();

interface AdminDeps {
  db: Db;
  database: Pick<Database, "kind" | "ping">;
  bus: CacheInvalidationBus;
  /** The billing caches of this process (balances): dropped after every grant or deduction. */
  invalidateBalance(orgId: string): void;
  isDraining(): boolean;
  /** What /readyz shows about the shared parts (Redis, rate limits, invalidation). */
  details(): Record<string, string>;
}

interface CreditChange {
  direction: "grant" | "deduct";
  amountMicroUsd: bigint;
  note: string;
  idempotencyKey?: string;
}

const auditActor = (a: Actor | AuditActor): AuditActor => ({
  userId: a.userId,
  email: a.email,
  ip: a.ip,
});

const disabledView = (d: repo.DisabledRow | null) =>
  d ? { at: d.disabledAt.toISOString(), by: d.disabledByEmail, reason: d.reason } : null;

export function createAdminService(deps: AdminDeps) {
  const { db } = deps;

  async function orgOrThrow(slug: string) {
    const org = await repo.orgBySlug(db, slug);
    if (!org) throw appError("ORG_NOT_FOUND", `No organization with slug "${slug}".`);
    return org;
  }

  return {
    async listOrganizations(q: { search?: string; limit: number }) {
      const since = monthStart();
      const rows = await repo.listOrganizations(db, { since, search: q.search, limit: q.limit });
      return {
        monthStart: since.toISOString(),
        organizations: rows.map((r) => ({
          id: r.org.id,
          slug: r.org.slug,
          name: r.org.name,
          personal: r.org.personal,
          createdAt: r.org.createdAt.toISOString(),
          members: Number(r.members),
          ...moneyValues("balance", BigInt(r.balance)),
          ...moneyValues("monthUsage", BigInt(r.monthUsage)),
          disabled: disabledView(r.disabled),
        })),
      };
    },

    /** A grant or a deduction with its note; the same idempotency key twice posts once. */
    async changeCredits(actor: Actor | AuditActor, slug: string, change: CreditChange) {
      const org = await orgOrThrow(slug);
      if (change.amountMicroUsd <= 0n) throw appError("INVALID_AMOUNT", "The amount must be positive.");
      const note = change.note.trim();
      if (!note) throw appError("NOTE_REQUIRED");
      const grant = change.direction === "grant";
      const amount = grant ? change.amountMicroUsd : -change.amountMicroUsd;
      const res = await postLedgerEntry(db, {
        orgId: org.id,
        kind: grant ? "grant" : "adjustment",
        amountMicroUsd: amount,
        idempotencyKey: change.idempotencyKey ?? `${grant ? "grant" : "deduct"}:${newId()}`,
        note: note.slice(0, 500),
        actor: auditActor(actor),
        auditMetadata: { operator: true },
      });
      deps.invalidateBalance(org.id);
      return {
        orgSlug: org.slug,
        duplicate: res.duplicate,
        entryId: res.entryId,
        ...moneyValues("amount", amount),
        ...moneyValues("balance", res.balanceMicroUsd),
        summary: `${grant ? "Granted" : "Deducted"} $${formatUsd(change.amountMicroUsd)} ${grant ? "to" : "from"} ${org.slug}`,
      };
    },

    async disable(actor: Actor, slug: string, reason: string) {
      const org = await orgOrThrow(slug);
      await db.transaction(async (tx) => {
        const changed = await repo.insertDisabled(tx, {
          orgId: org.id,
          disabledBy: actor.userId,
          disabledByEmail: actor.email,
          reason: reason.trim(),
        });
        if (!changed) throw appError("ORG_ALREADY_DISABLED");
        await recordAudit(tx, auditActor(actor), {
          orgId: org.id,
          action: "org.disabled",
          targetType: "organization",
          targetId: org.id,
          metadata: { slug: org.slug, reason: reason.trim() },
        });
      });
      deps.bus.publish({ scope: "org", orgId: org.id });
      return { disabled: disabledView(await repo.disabledState(db, org.id)) };
    },

    async enable(actor: Actor, slug: string) {
      const org = await orgOrThrow(slug);
      await db.transaction(async (tx) => {
        if (!(await repo.deleteDisabled(tx, org.id))) throw appError("ORG_NOT_DISABLED");
        await recordAudit(tx, auditActor(actor), {
          orgId: org.id,
          action: "org.enabled",
          targetType: "organization",
          targetId: org.id,
          metadata: { slug: org.slug },
        });
      });
      deps.bus.publish({ scope: "org", orgId: org.id });
      return { disabled: null };
    },

    /** Whether an organization is disabled, and why (its members see it in the dashboard). */
    async status(orgId: string) {
      return { disabled: disabledView(await repo.disabledState(db, orgId)) };
    },

    async health() {
      let reachable = true;
      try {
        await deps.database.ping();
      } catch {
        reachable = false;
      }
      const details = deps.details();
      return {
        status: deps.isDraining() ? ("draining" as const) : reachable ? ("ready" as const) : ("unavailable" as const),
        version: VERSION,
        uptimeSeconds: Math.floor((Date.now() - STARTED_AT) / 1000),
        database: { kind: deps.database.kind, reachable },
        redis: details.redis ?? "off",
        details,
      };
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;

/** Who is an instance operator: a listed email, verified when the instance requires verified emails. */
export function operatorCheck(adminEmails: string[], requireVerifiedEmail: boolean) {
  const emails = new Set(adminEmails.map((e) => e.toLowerCase()));
  return (user: { email: string; emailVerified: boolean }) =>
    emails.has(user.email.toLowerCase()) && (user.emailVerified || !requireVerifiedEmail);
}
