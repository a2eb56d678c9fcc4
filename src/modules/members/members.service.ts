/**
 * Team membership rules.
 * Invariants: exactly one owner per organization — the owner row changes only
 * through a transfer; nobody changes, removes or un-owns the owner otherwise.
 * Every membership change runs in a transaction that first locks the
 * organization row and re-reads the actor's role, so concurrent changes of one
 * organization are serialised and decided on fresh data.
 */
import { conflict, forbidden, notFound } from "../../platform/errors.js";
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db, Tx } from "../../platform/db/db.js";
import { assertCan, type Action } from "../../platform/permissions.js";
import { lockOrg } from "../organizations/organizations.repo.js";
import * as repo from "./members.repo.js";
import type { Role } from "./members.schema.js";

/** Hooks other domains register for membership events (run inside the same transaction). */
export interface MemberHooks {
  memberRemoved?: Array<(tx: Tx, e: { orgId: string; userId: string; keepKeys: boolean }) => Promise<void>>;
}

/**
 * Runs `fn` in a transaction holding the organization's row lock, with the
 * actor's role re-read under the lock and checked against `action`.
 */
export async function withOrgLock<T>(
  db: Db,
  ctx: OrgContext,
  action: Action<"member"> | Action<"org">,
  resource: "member" | "org",
  fn: (tx: Tx, fresh: OrgContext) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const org = await lockOrg(tx, ctx.orgId);
    if (!org) throw notFound("ORG_NOT_FOUND", "This organization no longer exists.");
    const me = await repo.getMember(tx, ctx.orgId, ctx.userId);
    if (!me) throw notFound("ORG_NOT_FOUND", "You are no longer a member of this organization.");
    const fresh: OrgContext = { ...ctx, orgSlug: org.slug, role: me.role };
    assertCan(fresh, resource, action as never);
    return fn(tx, fresh);
  });
}

const toOut = (m: repo.MemberRow) => ({
  userId: m.userId,
  name: m.name,
  email: m.email,
  role: m.role,
  joinedAt: m.joinedAt.toISOString(),
});

export function createMemberService(deps: { db: Db; hooks?: MemberHooks }) {
  const { db } = deps;

  async function runRemovedHooks(tx: Tx, orgId: string, userId: string, keepKeys: boolean) {
    for (const hook of deps.hooks?.memberRemoved ?? []) await hook(tx, { orgId, userId, keepKeys });
  }

  return {
    async list(ctx: OrgContext) {
      assertCan(ctx, "member", "read");
      return (await repo.listMembers(db, ctx.orgId)).map(toOut);
    },

    async changeRole(ctx: OrgContext, userId: string, role: Exclude<Role, "owner">) {
      assertCan(ctx, "member", "changeRole");
      return withOrgLock(db, ctx, "changeRole", "member", async (tx, fresh) => {
        const target = await repo.getMember(tx, fresh.orgId, userId);
        if (!target) throw notFound("MEMBER_NOT_FOUND", "No such member in this organization.");
        if (target.role === "owner") {
          throw conflict("OWNER_ROLE_LOCKED", "The owner's role changes only by transferring ownership.");
        }
        if (target.role === role) return toOut(target);
        await repo.setRole(tx, fresh.orgId, userId, role);
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "member.role_changed",
          targetType: "member",
          targetId: userId,
          metadata: { email: target.email, from: target.role, to: role },
        });
        return toOut({ ...target, role });
      });
    },

    async remove(ctx: OrgContext, userId: string, keepKeys: boolean) {
      assertCan(ctx, "member", "remove");
      await withOrgLock(db, ctx, "remove", "member", async (tx, fresh) => {
        const target = await repo.getMember(tx, fresh.orgId, userId);
        if (!target) throw notFound("MEMBER_NOT_FOUND", "No such member in this organization.");
        if (target.role === "owner")
          throw conflict("OWNER_CANNOT_BE_REMOVED", "The owner cannot be removed; transfer ownership first.");
        if (target.userId === fresh.userId) throw forbidden("USE_LEAVE", "Use leave to remove yourself.");
        await repo.deleteMember(tx, fresh.orgId, userId);
        await runRemovedHooks(tx, fresh.orgId, userId, keepKeys);
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "member.removed",
          targetType: "member",
          targetId: userId,
          metadata: { email: target.email, role: target.role, keepKeys },
        });
      });
    },

    async leave(ctx: OrgContext) {
      await withOrgLock(db, ctx, "read", "member", async (tx, fresh) => {
        if (fresh.role === "owner") {
          throw conflict("OWNER_CANNOT_LEAVE", "The owner cannot leave the organization; transfer ownership first.");
        }
        await repo.deleteMember(tx, fresh.orgId, fresh.userId);
        await runRemovedHooks(tx, fresh.orgId, fresh.userId, false);
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "member.left",
          targetType: "member",
          targetId: fresh.userId,
          metadata: { email: fresh.email, role: fresh.role },
        });
      });
    },
  };
}

export type MemberService = ReturnType<typeof createMemberService>;
