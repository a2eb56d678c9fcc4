/**
 * Virtual model rules (owner and admin manage; every member reads: their apps
 * send the names). A name is unique per organization and never a provider
 * slug (it would shadow `provider/model` readings in messages and logs); a
 * target names a provider or model the organization can reach when it is
 * saved (a later removal only skips it at request time). Every change is
 * audited and drops the organization's routing cache on every replica.
 */
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { newId } from "../../platform/crypto.js";
import { type Db, isUniqueViolation } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import type { ProviderEntry } from "../../gateway/catalog.js";
import { resolveName } from "../../gateway/routing/router.js";
import * as repo from "./virtual-models.repo.js";
import type {
  StoredTarget,
  UpdateVirtualModelInput,
  VirtualModelInput,
  VirtualModelRow,
} from "./virtual-models.schema.js";

export function virtualModelOut(r: VirtualModelRow) {
  return {
    id: r.id,
    name: r.name,
    strategy: r.strategy,
    targets: r.targets.map((t) => ({ model: t.model, weight: t.weight, params: t.params ?? null })),
    description: r.description,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function createVirtualModelService(deps: {
  db: Db;
  /** The providers the organization reaches (targets are checked against them). */
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  /** Drops the organization's routing cache (every replica). */
  invalidate(orgId: string): void;
}) {
  const { db } = deps;

  async function load(ctx: OrgContext, name: string) {
    const row = await repo.getByName(db, ctx.orgId, name);
    if (!row) throw appError("VIRTUAL_MODEL_NOT_FOUND", `No virtual model "${name}" in this organization.`);
    return row;
  }

  /** The targets as stored, each checked to resolve now. */
  async function checkedTargets(ctx: OrgContext, name: string, targets: VirtualModelInput["targets"]) {
    const providers = await deps.providersFor(ctx.orgId);
    if (providers.has(name))
      throw appError("VIRTUAL_MODEL_NAME_TAKEN", `"${name}" is a provider's name in this organization.`);
    return targets.map((t): StoredTarget => {
      if (t.model === name) throw appError("VIRTUAL_MODEL_TARGET_INVALID", "A virtual model cannot target itself.");
      if (!resolveName(t.model, providers))
        throw appError(
          "VIRTUAL_MODEL_TARGET_INVALID",
          `No provider serves "${t.model}". Use "provider/model" (GET /v1/models lists what the organization can use).`,
        );
      return {
        model: t.model,
        weight: t.weight,
        ...(t.params && Object.keys(t.params).length ? { params: t.params } : {}),
      };
    });
  }

  const taken = (name: string) =>
    appError("VIRTUAL_MODEL_NAME_TAKEN", `A virtual model "${name}" already exists in this organization.`);

  return {
    async list(ctx: OrgContext) {
      assertCan(ctx, "virtualModel", "read");
      return (await repo.listForOrg(db, ctx.orgId)).map(virtualModelOut);
    },

    async get(ctx: OrgContext, name: string) {
      assertCan(ctx, "virtualModel", "read");
      return virtualModelOut(await load(ctx, name));
    },

    async create(ctx: OrgContext, body: VirtualModelInput) {
      assertCan(ctx, "virtualModel", "manage");
      const targets = await checkedTargets(ctx, body.name, body.targets);
      const id = newId();
      try {
        const row = await db.transaction(async (tx) => {
          const out = await repo.insert(tx, {
            id,
            orgId: ctx.orgId,
            name: body.name,
            strategy: body.strategy,
            targets,
            description: body.description,
            createdBy: ctx.userId,
          });
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "virtual_model.created",
            targetType: "virtual_model",
            targetId: id,
            metadata: { name: body.name, strategy: body.strategy, targets },
          });
          return out;
        });
        deps.invalidate(ctx.orgId);
        return virtualModelOut(row);
      } catch (err) {
        if (isUniqueViolation(err, "virtual_models_org_name_uq")) throw taken(body.name);
        throw err;
      }
    },

    async update(ctx: OrgContext, name: string, body: UpdateVirtualModelInput) {
      assertCan(ctx, "virtualModel", "manage");
      const current = await load(ctx, name);
      const nextName = body.name ?? current.name;
      const targets = body.targets ? await checkedTargets(ctx, nextName, body.targets) : undefined;
      if (!targets && body.name !== undefined) await checkedTargets(ctx, nextName, []);
      try {
        const row = await db.transaction(async (tx) => {
          const out = await repo.update(tx, ctx.orgId, current.id, {
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.strategy !== undefined ? { strategy: body.strategy } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
            ...(targets ? { targets } : {}),
          });
          await recordAudit(tx, ctx, {
            orgId: ctx.orgId,
            action: "virtual_model.updated",
            targetType: "virtual_model",
            targetId: current.id,
            metadata: {
              name: out.name,
              before: { name: current.name, strategy: current.strategy, targets: current.targets },
              after: { name: out.name, strategy: out.strategy, targets: out.targets },
            },
          });
          return out;
        });
        deps.invalidate(ctx.orgId);
        return virtualModelOut(row);
      } catch (err) {
        if (isUniqueViolation(err, "virtual_models_org_name_uq")) throw taken(nextName);
        throw err;
      }
    },

    async remove(ctx: OrgContext, name: string) {
      assertCan(ctx, "virtualModel", "manage");
      const current = await load(ctx, name);
      await db.transaction(async (tx) => {
        await repo.remove(tx, ctx.orgId, current.id);
        await recordAudit(tx, ctx, {
          orgId: ctx.orgId,
          action: "virtual_model.deleted",
          targetType: "virtual_model",
          targetId: current.id,
          metadata: { name },
        });
      });
      deps.invalidate(ctx.orgId);
    },
  };
}

export type VirtualModelService = ReturnType<typeof createVirtualModelService>;
