/**
 * Project rules. Invariants:
 *  - owners and admins reach every project of the organization; members only
 *    the projects they are assigned to; any other project answers 404
 *    PROJECT_NOT_FOUND (never 403); an organization API token reaches what its
 *    creator reaches, narrowed to its project list. `resolveProject` is the one place that
 *    decides it, and the keys service uses it too;
 *  - a member who loses access to a project (unassigned) loses their keys in
 *    it in the same transaction, unless the manager asks to keep them (the
 *    keys module revokes them through `ProjectHooks.accessRemoved`: keys
 *    depend on projects, never the other way round);
 *  - every change writes its audit row in its transaction; the gateway's key
 *    cache is invalidated after commit (settings, slug, deletion).
 */
import { isAllowed } from "../../gateway/routing/router.js";
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { reachRole, tokenReaches, withMemberRole } from "../../platform/auth/org-token.js";
import { newId } from "../../platform/crypto.js";
import { type Db, type DbOrTx, isUniqueViolation, type Tx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { moneyValues } from "../../platform/money-fields.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import { assertCan, can } from "../../platform/permissions.js";
import { insertWithFreeSlug } from "../../platform/slug.js";
import { lockOrg } from "../organizations/org-lock.js";
import { slugify } from "../organizations/organizations.service.js";
import * as repo from "./projects.repo.js";
import type { CreateProjectInput, ProjectRow, UpdateProjectInput } from "./projects.schema.js";

const SLUG_CONSTRAINT = "projects_org_slug_uq";
const slugTaken = (slug: string) =>
  appError("SLUG_TAKEN", `This organization already has a project "${slug}". Choose another slug.`);

export const projectNotFound = (slug: string) =>
  appError("PROJECT_NOT_FOUND", `No project "${slug}" in this organization that you can access.`);

/**
 * The project `slug` of ctx's organization if ctx may reach it, else 404.
 * With `lock` (inside a transaction) the actor's membership, the project and
 * the assignment are share-locked and the role is re-read, so the answer holds
 * until commit.
 */
export async function resolveProject(
  db: DbOrTx,
  ctx: OrgContext,
  slug: string,
  opts: { lock?: boolean } = {},
): Promise<{ project: ProjectRow; ctx: OrgContext }> {
  let fresh = ctx;
  if (opts.lock) {
    const role = await repo.lockMembership(db, ctx.orgId, ctx.userId);
    if (!role) throw appError("ORG_NOT_FOUND", "You are no longer a member of this organization.");
    fresh = withMemberRole(ctx, role);
  }
  const project = await repo.findAccessibleProject(
    db,
    fresh.orgId,
    slug,
    fresh.userId,
    can(reachRole(fresh), "project", "accessAll"),
    opts.lock,
  );
  if (!project || !tokenReaches(fresh, project.id)) throw projectNotFound(slug);
  return { project, ctx: fresh };
}

export function projectOut(p: ProjectRow) {
  return {
    id: p.id,
    slug: p.slug,
    name: p.name,
    description: p.description,
    environment: p.environment,
    defaultModel: p.defaultModel,
    allowedModels: p.allowedModels,
    fallbackModels: p.fallbackModels,
    rateLimit: { rpm: p.rateLimitRpm, tpm: p.rateLimitTpm },
    keyRateLimit: { rpm: p.keyRateLimitRpm, tpm: p.keyRateLimitTpm },
    ...moneyValues("monthlySpendCap", p.monthlySpendCapMicroUsd),
    logBodies: p.logBodies,
    cache: { mode: p.cacheMode, ttlSeconds: p.cacheTtlSeconds },
    endUserBudget:
      p.endUserBudgetMicroUsd !== null && p.endUserBudgetPeriod
        ? { ...moneyValues("amount", p.endUserBudgetMicroUsd), period: p.endUserBudgetPeriod }
        : null,
    logRetentionDays: p.logRetentionDays,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** Body settings → column values (only what was sent). */
function settingsPatch(b: Omit<UpdateProjectInput, "name" | "slug" | "description">): repo.ProjectPatch {
  const patch: repo.ProjectPatch = {};
  if (b.environment !== undefined) patch.environment = b.environment;
  if (b.defaultModel !== undefined) patch.defaultModel = b.defaultModel;
  if (b.allowedModels !== undefined) patch.allowedModels = b.allowedModels;
  if (b.fallbackModels !== undefined) patch.fallbackModels = b.fallbackModels;
  if (b.rateLimit?.rpm !== undefined) patch.rateLimitRpm = b.rateLimit.rpm;
  if (b.rateLimit?.tpm !== undefined) patch.rateLimitTpm = b.rateLimit.tpm;
  if (b.keyRateLimit?.rpm !== undefined) patch.keyRateLimitRpm = b.keyRateLimit.rpm;
  if (b.keyRateLimit?.tpm !== undefined) patch.keyRateLimitTpm = b.keyRateLimit.tpm;
  if (b.monthlySpendCapUsd !== undefined) patch.monthlySpendCapMicroUsd = b.monthlySpendCapUsd;
  if (b.logBodies !== undefined) patch.logBodies = b.logBodies;
  if (b.cache?.mode !== undefined) patch.cacheMode = b.cache.mode;
  if (b.cache?.ttlSeconds !== undefined) patch.cacheTtlSeconds = b.cache.ttlSeconds;
  if (b.endUserBudgetUsd !== undefined) {
    patch.endUserBudgetMicroUsd = b.endUserBudgetUsd;
    patch.endUserBudgetPeriod = b.endUserBudgetUsd === null ? null : (b.endUserBudgetPeriod ?? "month");
  } else if (b.endUserBudgetPeriod !== undefined) patch.endUserBudgetPeriod = b.endUserBudgetPeriod;
  if (b.logRetentionDays !== undefined) patch.logRetentionDays = b.logRetentionDays;
  return patch;
}

function assertDefaultModelAllowed(defaultModel: string | null, allowed: string[]) {
  // The router's own rule, so a default model the settings accept is one the gateway serves.
  if (defaultModel && !isAllowed(defaultModel, allowed)) {
    throw appError(
      "DEFAULT_MODEL_NOT_ALLOWED",
      `The default model "${defaultModel}" must be one of allowedModels or match one of its provider/* entries (or leave allowedModels empty).`,
    );
  }
}

/** Audit-friendly view of a change: money as strings, no bigint in JSON. */
const auditValue = (v: unknown) => (typeof v === "bigint" ? v.toString() : v);

/**
 * Hooks other domains register for project events, run inside the change's
 * transaction. `accessRemoved`: members lost access to the project (unassigned,
 * keys not kept); answers the ids of the keys it revoked, which this service
 * drops from the caches after commit. (The keys module registers it: projects
 * never import keys.)
 */
export interface ProjectHooks {
  accessRemoved?: Array<(tx: Tx, e: ProjectAccessRemoved) => Promise<string[]>>;
}

/** Who unassigned which members from which project. */
export interface ProjectAccessRemoved {
  actor: OrgContext;
  project: Pick<ProjectRow, "id" | "slug">;
  userIds: string[];
}

export function createProjectService(deps: { db: Db; bus: CacheInvalidationBus; hooks?: ProjectHooks }) {
  const { db, bus } = deps;

  return {
    /** 404 unless ctx reaches the project; routes under a project run it before reading the body. */
    async assertReachable(ctx: OrgContext, slug: string) {
      assertCan(ctx, "project", "read");
      await resolveProject(db, ctx, slug);
    },

    async list(ctx: OrgContext) {
      assertCan(ctx, "project", "read");
      const rows = await repo.listProjects(
        db,
        ctx.orgId,
        can(reachRole(ctx), "project", "accessAll") ? null : ctx.userId,
      );
      return rows.filter((p) => tokenReaches(ctx, p.id)).map(projectOut);
    },

    async get(ctx: OrgContext, slug: string) {
      assertCan(ctx, "project", "read");
      return projectOut((await resolveProject(db, ctx, slug)).project);
    },

    async create(ctx: OrgContext, body: CreateProjectInput) {
      assertCan(ctx, "project", "create");
      assertDefaultModelAllowed(body.defaultModel ?? null, body.allowedModels ?? []);
      const project = await insertWithFreeSlug({
        requested: body.slug,
        derive: () => slugify(body.name),
        exists: (slug) => repo.slugTaken(db, ctx.orgId, slug),
        constraint: SLUG_CONSTRAINT,
        taken: slugTaken,
        insert: (slug) =>
          db.transaction(async (tx) => {
            const p = await repo.insertProject(tx, {
              id: newId(),
              orgId: ctx.orgId,
              slug,
              name: body.name,
              description: body.description ?? "",
              createdBy: ctx.userId,
              ...settingsPatch(body),
            });
            await recordAudit(tx, ctx, {
              orgId: ctx.orgId,
              action: "project.created",
              targetType: "project",
              targetId: p.id,
              metadata: { slug: p.slug, name: p.name, environment: p.environment },
            });
            return p;
          }),
      });
      return projectOut(project);
    },

    async update(ctx: OrgContext, slug: string, body: UpdateProjectInput) {
      assertCan(ctx, "project", "update");
      let updated: ProjectRow;
      try {
        updated = await db.transaction(async (tx) => {
          const { project: before } = await resolveProject(tx, ctx, slug);
          const patch: repo.ProjectPatch = settingsPatch(body);
          if (body.name !== undefined) patch.name = body.name;
          if (body.slug !== undefined) patch.slug = body.slug;
          if (body.description !== undefined) patch.description = body.description;
          assertDefaultModelAllowed(
            patch.defaultModel !== undefined ? patch.defaultModel : before.defaultModel,
            patch.allowedModels ?? before.allowedModels,
          );
          const after = await repo.updateProject(tx, ctx.orgId, before.id, patch);
          const changes = Object.fromEntries(
            Object.keys(patch)
              .filter(
                (k) =>
                  JSON.stringify(auditValue(before[k as keyof ProjectRow])) !==
                  JSON.stringify(auditValue(after[k as keyof ProjectRow])),
              )
              .map((k) => [
                k,
                { from: auditValue(before[k as keyof ProjectRow]), to: auditValue(after[k as keyof ProjectRow]) },
              ]),
          );
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "project.updated",
            targetType: "project",
            targetId: before.id,
            metadata: { slug: after.slug, changes },
          });
          return after;
        });
      } catch (err) {
        if (isUniqueViolation(err, SLUG_CONSTRAINT)) throw slugTaken(String(body.slug));
        throw err;
      }
      // Keys of this project carry its settings in the gateway's cache.
      bus.publish({ scope: "project", projectId: updated.id });
      return projectOut(updated);
    },

    async remove(ctx: OrgContext, slug: string, confirm: string) {
      assertCan(ctx, "project", "delete");
      const projectId = await db.transaction(async (tx) => {
        const { project } = await resolveProject(tx, ctx, slug);
        if (confirm !== project.slug) {
          throw appError("CONFIRMATION_MISMATCH", `Type the project's slug "${project.slug}" to confirm deletion.`);
        }
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "project.deleted",
          targetType: "project",
          targetId: project.id,
          metadata: { slug: project.slug, name: project.name },
        });
        // Keys, assignments (and later logs) go with it: ON DELETE CASCADE.
        await repo.deleteProject(tx, ctx.orgId, project.id);
        return project.id;
      });
      bus.publish({ scope: "project", projectId });
    },

    async listMembers(ctx: OrgContext, slug: string) {
      assertCan(ctx, "project", "assignMembers");
      const { project } = await resolveProject(db, ctx, slug);
      return (await repo.listAssignments(db, ctx.orgId, project.id)).map((a) => ({
        ...a,
        assignedAt: a.assignedAt.toISOString(),
      }));
    },

    /**
     * Replaces the project's assignments. Runs under the organization's row lock
     * (like every membership change), so it cannot interleave with a removal.
     */
    async setMembers(ctx: OrgContext, slug: string, body: { userIds: string[]; keepKeys?: boolean }) {
      assertCan(ctx, "project", "assignMembers");
      const wanted = [...new Set(body.userIds)];
      const { projectId, revokedKeyIds } = await db.transaction(async (tx) => {
        if (!(await lockOrg(tx, ctx.orgId))) throw appError("ORG_NOT_FOUND");
        const { project, ctx: fresh } = await resolveProject(tx, ctx, slug, { lock: true });
        assertCan(fresh, "project", "assignMembers");
        const found = await repo.membersAmong(tx, fresh.orgId, wanted);
        const missing = wanted.filter((id) => !found.some((m) => m.userId === id));
        if (missing.length > 0) {
          throw appError("NOT_A_MEMBER", "Only members of this organization can be assigned to its projects.", {
            userIds: missing,
          });
        }
        const current = await repo.listAssignments(tx, fresh.orgId, project.id);
        const added = wanted.filter((id) => !current.some((a) => a.userId === id));
        const removed = current.filter((a) => !wanted.includes(a.userId));
        await repo.removeAssignments(
          tx,
          fresh.orgId,
          project.id,
          removed.map((a) => a.userId),
        );
        await repo.addAssignments(tx, fresh.orgId, project.id, added, fresh.userId);
        // Owners and admins keep reaching the project without an assignment: only members lose access.
        const lostAccess = removed.filter((a) => !can(a.role, "project", "accessAll"));
        const revoked: string[] = [];
        if (!body.keepKeys && lostAccess.length > 0) {
          const userIds = lostAccess.map((a) => a.userId);
          for (const hook of deps.hooks?.accessRemoved ?? [])
            revoked.push(...(await hook(tx, { actor: fresh, project, userIds })));
        }
        if (added.length > 0 || removed.length > 0) {
          await recordAudit(tx, fresh, {
            orgId: fresh.orgId,
            action: "project.members_updated",
            targetType: "project",
            targetId: project.id,
            metadata: {
              slug: project.slug,
              added,
              removed: removed.map((a) => a.userId),
              keepKeys: body.keepKeys ?? false,
              revokedKeys: revoked.length,
            },
          });
        }
        return { projectId: project.id, revokedKeyIds: revoked };
      });
      if (revokedKeyIds.length > 0) bus.publish({ scope: "keys", keyIds: revokedKeyIds });
      return (await repo.listAssignments(db, ctx.orgId, projectId)).map((a) => ({
        ...a,
        assignedAt: a.assignedAt.toISOString(),
      }));
    },
  };
}

export type ProjectService = ReturnType<typeof createProjectService>;
