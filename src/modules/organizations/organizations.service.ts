/**
 * Organization rules: creation (with a unique slug), settings, deletion
 * (owner only, confirmed by the slug) and ownership transfer (owner only, to
 * an existing member; the old owner becomes an admin — one owner, always),
 * and the two-factor requirement (owner only, and only an owner who has
 * two-factor authentication can turn it on).
 */
import { recordAudit } from "../../platform/audit.js";
import type { Actor, OrgContext } from "../../platform/auth/guard.js";
import { newId } from "../../platform/crypto.js";
import { type Db, isUniqueViolation } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { assertCan, type Role } from "../../platform/permissions.js";
import { insertWithFreeSlug } from "../../platform/slug.js";
import * as membersRepo from "./members.repo.js";
import { withOrgLock } from "./org-lock.js";
import * as repo from "./organizations.repo.js";
import { RESERVED_SLUGS } from "./organizations.schema.js";

export function slugify(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  // Nothing usable left (e.g. a name in another script): a neutral word — not "org", which is reserved.
  if (!base) return "team";
  if (base.length < 3 || RESERVED_SLUGS.has(base)) return `${base}-org`;
  return base;
}

export const orgOut = (o: repo.OrgRow, role: Role) => ({
  id: o.id,
  slug: o.slug,
  name: o.name,
  description: o.description,
  personal: o.personal,
  requireTwoFactor: o.requireTwoFactor,
  requireSso: o.requireSso,
  role,
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
});

/** Called after an organization's deletion has committed (e.g. to drop its keys from the gateway's cache). */
export interface OrganizationHooks {
  orgDeleted?: Array<(orgId: string) => void>;
}

export function createOrganizationService(deps: { db: Db; hooks?: OrganizationHooks }) {
  const { db } = deps;

  /** Inserts the org and its owner; retries generated slugs on collision, reports taken explicit ones. */
  async function insertWithOwner(
    actor: { userId: string; email: string | null; ip: string | null },
    input: { name: string; description?: string; slug?: string; slugHint?: string; personal: boolean },
  ) {
    return insertWithFreeSlug({
      requested: input.slug,
      derive: () => slugify(input.slugHint ?? input.name),
      exists: (slug) => repo.slugExists(db, slug),
      constraint: "organizations_slug_unique",
      taken: (slug) => appError("SLUG_TAKEN", `The slug "${slug}" is already taken. Choose another.`),
      insert: (slug) =>
        db.transaction(async (tx) => {
          const org = await repo.insertOrg(tx, {
            id: newId(),
            slug,
            name: input.name,
            description: input.description ?? "",
            personal: input.personal,
            createdBy: actor.userId,
          });
          await membersRepo.insertMember(tx, org.id, actor.userId, "owner");
          await repo.setActiveOrgId(tx, actor.userId, org.id);
          await recordAudit(tx, actor, {
            orgId: org.id,
            action: "org.created",
            targetType: "org",
            targetId: org.id,
            metadata: { name: org.name, slug: org.slug, personal: org.personal },
          });
          return org;
        }),
    });
  }

  return {
    async createPersonalOrg(user: { id: string; name: string; email: string }) {
      return insertWithOwner(
        { userId: user.id, email: user.email, ip: null },
        // Within the 100 characters an org name may have, so the owner can save its settings as they are.
        {
          name: `${user.name.trim().slice(0, 100 - "'s organization".length)}'s organization`,
          slugHint: user.name,
          personal: true,
          description: "Personal organization",
        },
      );
    },

    async create(actor: Actor, body: { name: string; description?: string; slug?: string }) {
      const org = await insertWithOwner(actor, { ...body, personal: false });
      return orgOut(org, "owner");
    },

    async listMine(actor: Actor) {
      return (await repo.listForUser(db, actor.userId)).map((o) => orgOut(o, o.role));
    },

    async get(ctx: OrgContext) {
      assertCan(ctx, "org", "read");
      const org = await repo.getById(db, ctx.orgId);
      if (!org) throw appError("ORG_NOT_FOUND");
      return orgOut(org, ctx.role);
    },

    async update(ctx: OrgContext, patch: { name?: string; description?: string; slug?: string }) {
      assertCan(ctx, "org", "update");
      try {
        return await withOrgLock(db, ctx, "org", "update", async (tx, fresh) => {
          const before = await repo.getById(tx, fresh.orgId);
          const org = await repo.updateOrg(tx, fresh.orgId, patch);
          const changes = Object.fromEntries(
            Object.keys(patch).map((k) => [
              k,
              { from: before?.[k as keyof typeof patch], to: org[k as keyof typeof patch] },
            ]),
          );
          await recordAudit(tx, fresh, {
            orgId: fresh.orgId,
            action: "org.updated",
            targetType: "org",
            targetId: fresh.orgId,
            metadata: { changes },
          });
          return orgOut(org, fresh.role);
        });
      } catch (err) {
        if (isUniqueViolation(err, "organizations_slug_unique"))
          throw appError("SLUG_TAKEN", `The slug "${patch.slug}" is already taken. Choose another.`);
        throw err;
      }
    },

    async remove(ctx: OrgContext, confirm: string) {
      assertCan(ctx, "org", "delete");
      await withOrgLock(db, ctx, "org", "delete", async (tx, fresh) => {
        if (confirm !== fresh.orgSlug) {
          throw appError(
            "CONFIRMATION_MISMATCH",
            `Type the organization's slug "${fresh.orgSlug}" to confirm deletion.`,
          );
        }
        // The audit row is kept (no foreign key): the operator can still see who deleted what.
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "org.deleted",
          targetType: "org",
          targetId: fresh.orgId,
          metadata: { slug: fresh.orgSlug },
        });
        await repo.deleteOrg(tx, fresh.orgId);
      });
      for (const hook of deps.hooks?.orgDeleted ?? []) hook(ctx.orgId);
    },

    async setTwoFactorRequirement(ctx: OrgContext, required: boolean) {
      assertCan(ctx, "org", "requireTwoFactor");
      if (required && !(await repo.userHasTwoFactor(db, ctx.userId))) throw appError("TWO_FACTOR_NOT_ENABLED");
      return withOrgLock(db, ctx, "org", "requireTwoFactor", async (tx, fresh) => {
        const before = await repo.getById(tx, fresh.orgId);
        const org = await repo.setRequireTwoFactor(tx, fresh.orgId, required);
        if (before?.requireTwoFactor !== required) {
          await recordAudit(tx, fresh, {
            orgId: fresh.orgId,
            action: required ? "org.two_factor_required" : "org.two_factor_not_required",
            targetType: "org",
            targetId: fresh.orgId,
            metadata: { requireTwoFactor: required },
          });
        }
        return orgOut(org, fresh.role);
      });
    },

    async transfer(ctx: OrgContext, toUserId: string) {
      assertCan(ctx, "org", "transfer");
      return withOrgLock(db, ctx, "org", "transfer", async (tx, fresh) => {
        if (toUserId === fresh.userId) throw appError("ALREADY_OWNER");
        const target = await membersRepo.getMember(tx, fresh.orgId, toUserId);
        if (!target)
          throw appError("MEMBER_NOT_FOUND", "Ownership can only go to an existing member of this organization.");
        // Demote first: the partial unique index allows one owner row at a time.
        await membersRepo.setRole(tx, fresh.orgId, fresh.userId, "admin");
        await membersRepo.setRole(tx, fresh.orgId, toUserId, "owner");
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "org.ownership_transferred",
          targetType: "member",
          targetId: toUserId,
          metadata: { from: fresh.userId, to: toUserId, toEmail: target.email },
        });
        return {
          previousOwner: { userId: fresh.userId, role: "admin" as const },
          newOwner: { userId: toUserId, role: "owner" as const },
        };
      });
    },
  };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;
