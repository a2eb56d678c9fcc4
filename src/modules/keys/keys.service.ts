/**
 * API key rules. Invariants:
 *  - a key belongs to one project; whoever can reach the project (see
 *    `resolveProject`) can create keys in it and list them; members revoke
 *    their own keys, owners and admins any key;
 *  - the full key exists only in the creation response: the row holds its
 *    SHA-256 and a hint, and audit rows carry id, name, hint and environment;
 *  - revocation is effective in the gateway's cache of this process before the
 *    response is sent (bus event after commit);
 *  - keys of a member who leaves or is removed are revoked in the removal's
 *    transaction unless the remover keeps them (`memberRemovedHook`); so are
 *    a member's keys in a project they are unassigned from
 *    (`projectAccessRemovedHook`). Every revocation writes one `key.revoked`
 *    audit row per key (`recordKeyRevoked`).
 */
import { type AuditActor, recordAudit, SYSTEM_ACTOR } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { newId } from "../../platform/crypto.js";
import type { Db, DbOrTx, Tx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import { assertCan } from "../../platform/permissions.js";
import { shareLockOrg } from "../organizations/org-lock.js";
import type { ProjectRow } from "../projects/projects.schema.js";
import { type ProjectAccessRemoved, resolveProject } from "../projects/projects.service.js";
import { generateKey, type KeyEnvironment, keyDigest, keyHint } from "./key-format.js";
import * as repo from "./keys.repo.js";
import { isAllowed } from "../../gateway/routing/router.js";
import { budgetPeriodStart } from "../../platform/calendar.js";
import { moneyValues } from "../../platform/money-fields.js";
import { keysSpendSince } from "../billing/billing.repo.js";
import { BUDGET_PERIODS } from "../projects/projects.schema.js";
import {
  type ApiKeyRow,
  type KeyControlsInput,
  MAX_ACTIVE_KEYS_PER_PROJECT,
  type RevokeReason,
} from "./keys.schema.js";

/** A key's budget with what it spent in the current period (`spent`: the ledger's charges, when it has one). */
function budgetOut(k: ApiKeyRow, spent: bigint | undefined) {
  if (k.budgetMicroUsd === null || !k.budgetPeriod) return null;
  return {
    ...moneyValues("amount", k.budgetMicroUsd),
    period: k.budgetPeriod,
    ...moneyValues("spent", spent ?? 0n),
  };
}

/** A key's controls as the audit log keeps them (money as strings). */
const controlsAudit = (k: ApiKeyRow) => ({
  name: k.name,
  allowedModels: k.allowedModels,
  rateLimit: [k.rateLimitRpm, k.rateLimitTpm],
  budget: k.budgetMicroUsd === null ? null : { microUsd: k.budgetMicroUsd.toString(), period: k.budgetPeriod },
});

export function keyOut(k: repo.KeyWithCreator, nowMs = Date.now(), spent?: bigint) {
  const status = k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt.getTime() <= nowMs ? "expired" : "active";
  return {
    id: k.id,
    projectId: k.projectId,
    name: k.name,
    environment: k.environment,
    hint: k.hint,
    status: status as "active" | "expired" | "revoked",
    createdBy: { userId: k.createdBy, email: k.creatorEmail },
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    revokedReason: k.revokedReason,
    allowedModels: k.allowedModels,
    rateLimit: { rpm: k.rateLimitRpm, tpm: k.rateLimitTpm },
    budget: budgetOut(k, spent),
  };
}

/** Each budgeted key's spend in its current budget period (flushed charges): one query per period in use. */
async function spentByKey(db: DbOrTx, keys: readonly ApiKeyRow[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const period of BUDGET_PERIODS) {
    const budgeted = keys.filter((k) => k.budgetMicroUsd !== null && k.budgetPeriod === period);
    if (budgeted.length === 0) continue;
    const { orgId, projectId } = budgeted[0]!;
    const ids = budgeted.map((k) => k.id);
    const spent = await keysSpendSince(db, orgId, projectId, ids, budgetPeriodStart(period));
    for (const id of ids) out.set(id, spent.get(id) ?? 0n);
  }
  return out;
}

/**
 * A key's controls as columns (only what was sent). A key's allowed models must lie within the project's:
 * each entry one the project allows (a `provider/*` entry only where the project allows that provider whole).
 */
function controlsPatch(
  b: KeyControlsInput,
  projectAllowed: readonly string[],
  current?: Pick<ApiKeyRow, "budgetMicroUsd" | "budgetPeriod">,
) {
  const patch: Partial<
    Pick<ApiKeyRow, "allowedModels" | "rateLimitRpm" | "rateLimitTpm" | "budgetMicroUsd" | "budgetPeriod">
  > = {};
  if (b.budgetUsd !== undefined) {
    patch.budgetMicroUsd = b.budgetUsd;
    patch.budgetPeriod = b.budgetUsd === null ? null : (b.budgetPeriod ?? current?.budgetPeriod ?? "month");
  } else if (b.budgetPeriod !== undefined) {
    if (current?.budgetMicroUsd == null)
      throw appError("BUDGET_REQUIRED", "Set budgetUsd with budgetPeriod: the key has no budget to count.");
    patch.budgetPeriod = b.budgetPeriod;
  }
  if (b.allowedModels !== undefined) {
    const outside = (b.allowedModels ?? []).filter((m) => !isAllowed(m, projectAllowed));
    if (outside.length)
      throw appError(
        "KEY_MODELS_OUTSIDE_PROJECT",
        `A key's allowed models lie within its project's; the project does not allow ${outside.join(", ")}.`,
      );
    patch.allowedModels = b.allowedModels;
  }
  if (b.rateLimit?.rpm !== undefined) patch.rateLimitRpm = b.rateLimit.rpm;
  if (b.rateLimit?.tpm !== undefined) patch.rateLimitTpm = b.rateLimit.tpm;
  return patch;
}

const keyNotFound = () => appError("KEY_NOT_FOUND");

/** The audit row of one revoked key; the project is named by slug, or by id when a member is removed. */
function recordKeyRevoked(
  tx: DbOrTx,
  actor: AuditActor,
  e: {
    orgId: string;
    key: Pick<ApiKeyRow, "id" | "name" | "hint" | "environment">;
    project: { projectSlug: string } | { projectId: string };
    reason: RevokeReason;
    ownerUserId: string | null;
  },
): Promise<void> {
  return recordAudit(tx, actor, {
    orgId: e.orgId,
    action: "key.revoked",
    targetType: "key",
    targetId: e.key.id,
    metadata: {
      name: e.key.name,
      hint: e.key.hint,
      environment: e.key.environment,
      ...e.project,
      reason: e.reason,
      ownerUserId: e.ownerUserId,
    },
  });
}

/** Revokes the live keys `userId` created (in `project` only, if given), one audit row each; returns their ids. */
async function revokeKeysOf(
  tx: Tx,
  actor: AuditActor,
  e: {
    orgId: string;
    userId: string;
    project?: Pick<ProjectRow, "id" | "slug">;
    revokedBy: string | null;
    reason: RevokeReason;
  },
): Promise<string[]> {
  const keys = await repo.revokeKeysOfUser(tx, e.orgId, e.userId, {
    projectIds: e.project ? [e.project.id] : undefined,
    revokedBy: e.revokedBy,
    reason: e.reason,
  });
  for (const k of keys) {
    await recordKeyRevoked(tx, actor, {
      orgId: e.orgId,
      key: k,
      project: e.project ? { projectSlug: e.project.slug } : { projectId: k.projectId },
      reason: e.reason,
      ownerUserId: e.userId,
    });
  }
  return keys.map((k) => k.id);
}

export function createKeyService(deps: { db: Db; bus: CacheInvalidationBus; now?: () => number }) {
  const { db, bus } = deps;
  const now = deps.now ?? Date.now;

  return {
    async list(ctx: OrgContext, projectSlug: string) {
      assertCan(ctx, "key", "read");
      const { project } = await resolveProject(db, ctx, projectSlug);
      const t = now();
      const keys = await repo.listKeys(db, ctx.orgId, project.id);
      const spent = await spentByKey(db, keys);
      return keys.map((k) => keyOut(k, t, spent.get(k.id)));
    },

    async get(ctx: OrgContext, projectSlug: string, keyId: string) {
      assertCan(ctx, "key", "read");
      const { project } = await resolveProject(db, ctx, projectSlug);
      const key = await repo.getKey(db, ctx.orgId, project.id, keyId);
      if (!key) throw keyNotFound();
      return keyOut(key, now(), (await spentByKey(db, [key])).get(key.id));
    },

    async create(
      ctx: OrgContext,
      projectSlug: string,
      body: { name: string; environment: KeyEnvironment; expiresAt?: string } & KeyControlsInput,
    ) {
      assertCan(ctx, "key", "create");
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= now()) throw appError("EXPIRY_IN_PAST");
      const raw = generateKey(body.environment);
      const row = await db.transaction(async (tx) => {
        if (!(await shareLockOrg(tx, ctx.orgId))) throw appError("ORG_NOT_FOUND");
        // Locked: a concurrent removal or unassignment waits for this key and then revokes it too.
        const { project, ctx: fresh } = await resolveProject(tx, ctx, projectSlug, { lock: true });
        assertCan(fresh, "key", "create");
        if ((await repo.countActiveKeys(tx, fresh.orgId, project.id)) >= MAX_ACTIVE_KEYS_PER_PROJECT) {
          throw appError(
            "KEY_LIMIT_REACHED",
            `A project can have at most ${MAX_ACTIVE_KEYS_PER_PROJECT} active keys. Revoke unused keys first.`,
          );
        }
        const key = await repo.insertKey(tx, {
          id: newId(),
          orgId: fresh.orgId,
          projectId: project.id,
          name: body.name,
          environment: body.environment,
          digest: keyDigest(raw),
          hint: keyHint(raw),
          createdBy: fresh.userId,
          expiresAt,
          ...controlsPatch(body, project.allowedModels),
        });
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "key.created",
          targetType: "key",
          targetId: key.id,
          metadata: {
            ...controlsAudit(key),
            hint: key.hint,
            environment: key.environment,
            projectSlug: project.slug,
            expiresAt: expiresAt?.toISOString() ?? null,
          },
        });
        return key;
      });
      return { ...keyOut({ ...row, creatorEmail: ctx.email }, now()), key: raw };
    },

    /** Renames a key or changes its controls (whoever may revoke it); effective in the gateway at once. */
    async update(ctx: OrgContext, projectSlug: string, keyId: string, body: { name?: string } & KeyControlsInput) {
      assertCan(ctx, "key", "revokeOwn");
      const row = await db.transaction(async (tx) => {
        const { project, ctx: fresh } = await resolveProject(tx, ctx, projectSlug, { lock: true });
        const key = await repo.getKey(tx, fresh.orgId, project.id, keyId, true);
        if (!key) throw keyNotFound();
        assertCan(fresh, "key", key.createdBy === fresh.userId ? "revokeOwn" : "revokeAny");
        if (key.revokedAt) throw appError("KEY_REVOKED");
        const patch = {
          ...controlsPatch(body, project.allowedModels, key),
          ...(body.name ? { name: body.name } : {}),
        };
        const updated = await repo.updateKey(tx, fresh.orgId, key.id, patch);
        const before = controlsAudit(key);
        const after = controlsAudit(updated);
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "key.updated",
          targetType: "key",
          targetId: key.id,
          metadata: { hint: key.hint, projectSlug: project.slug, before, after },
        });
        return { ...updated, creatorEmail: key.creatorEmail };
      });
      bus.publish({ scope: "keys", keyIds: [keyId] });
      return keyOut(row, now(), (await spentByKey(db, [row])).get(row.id));
    },

    async revoke(ctx: OrgContext, projectSlug: string, keyId: string) {
      assertCan(ctx, "key", "revokeOwn");
      const revoked = await db.transaction(async (tx) => {
        const { project, ctx: fresh } = await resolveProject(tx, ctx, projectSlug, { lock: true });
        const key = await repo.getKey(tx, fresh.orgId, project.id, keyId, true);
        if (!key) throw keyNotFound();
        assertCan(fresh, "key", key.createdBy === fresh.userId ? "revokeOwn" : "revokeAny");
        // Revoking twice is a no-op: the first revocation (and its audit row) stands.
        if (key.revokedAt) return false;
        await repo.revokeKey(tx, fresh.orgId, key.id, fresh.userId, "revoked");
        await recordKeyRevoked(tx, fresh, {
          orgId: fresh.orgId,
          key,
          project: { projectSlug: project.slug },
          reason: "revoked",
          ownerUserId: key.createdBy,
        });
        return true;
      });
      if (revoked) bus.publish({ scope: "keys", keyIds: [keyId] });
    },

    /**
     * MemberHooks.memberRemoved: runs inside the removal's transaction (the org
     * row is locked). The removal's own audit row names who removed whom; the
     * per-key rows here are written by "system" with the reason.
     */
    async memberRemovedHook(tx: Tx, e: { orgId: string; userId: string; keepKeys: boolean }) {
      if (e.keepKeys) return;
      const keyIds = await revokeKeysOf(tx, SYSTEM_ACTOR, {
        orgId: e.orgId,
        userId: e.userId,
        revokedBy: null,
        reason: "member_removed",
      });
      // Not committed yet: caches drop the keys now and re-read them uncached until the commit has surely landed.
      if (keyIds.length > 0) bus.publish({ scope: "keys", keyIds, beforeCommit: true });
    },

    /**
     * ProjectHooks.accessRemoved: runs inside the assignment change's
     * transaction (the org row is locked); the manager who unassigned the
     * members revokes their keys in the project. The project service drops the
     * returned keys from the caches after commit.
     */
    async projectAccessRemovedHook(tx: Tx, e: ProjectAccessRemoved): Promise<string[]> {
      const revoked: string[] = [];
      for (const userId of e.userIds) {
        const keyIds = await revokeKeysOf(tx, e.actor, {
          orgId: e.actor.orgId,
          userId,
          project: e.project,
          revokedBy: e.actor.userId,
          reason: "project_access_removed",
        });
        revoked.push(...keyIds);
      }
      return revoked;
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
