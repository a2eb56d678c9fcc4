/**
 * Team membership rules.
 * Invariants: exactly one owner per organization — the owner row changes only
 * through a transfer; nobody changes, removes or un-owns the owner otherwise.
 * Every membership change runs in a transaction that first locks the
 * organization row and re-reads the actor's role (organizations/org-lock.ts),
 * so concurrent changes of one organization are serialised and decided on
 * fresh data. The roster's rows and SQL belong to the organizations module.
 */
import { appError } from "../../platform/errors.js";
import { recordAudit, SYSTEM_ACTOR } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db, Tx } from "../../platform/db/db.js";
import { type AssignableRole, assertCan } from "../../platform/permissions.js";
import * as repo from "../organizations/members.repo.js";
import { lockOrg, withOrgLock } from "../organizations/org-lock.js";
import type { JoinSource } from "../sso/sso-membership.js";

/** Hooks other domains register for membership events (run inside the same transaction). */
export interface MemberHooks {
  memberRemoved?: Array<(tx: Tx, e: { orgId: string; userId: string; keepKeys: boolean }) => Promise<void>>;
}

const toOut = (m: repo.MemberRow) => ({
  userId: m.userId,
  name: m.name,
  email: m.email,
  role: m.role,
  joinedAt: m.joinedAt.toISOString(),
  twoFactorEnabled: m.twoFactorEnabled,
  lastActiveAt: m.lastActiveAt?.toISOString() ?? null,
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

    async changeRole(ctx: OrgContext, userId: string, role: AssignableRole) {
      assertCan(ctx, "member", "changeRole");
      return withOrgLock(db, ctx, "member", "changeRole", async (tx, fresh) => {
        const target = await repo.getMember(tx, fresh.orgId, userId);
        if (!target) throw appError("MEMBER_NOT_FOUND");
        if (target.role === "owner") {
          throw appError("OWNER_ROLE_LOCKED");
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
      await withOrgLock(db, ctx, "member", "remove", async (tx, fresh) => {
        const target = await repo.getMember(tx, fresh.orgId, userId);
        if (!target) throw appError("MEMBER_NOT_FOUND");
        if (target.role === "owner") throw appError("OWNER_CANNOT_BE_REMOVED");
        if (target.userId === fresh.userId) throw appError("USE_LEAVE");
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

    /**
     * Removes a person the organization's identity provider deprovisioned (a SCIM deactivation or
     * deletion): what `remove` does, under the org row lock, with their keys and tokens in the org
     * revoked; the actor is the system, `via` names the source. The owner is refused
     * (OWNER_CANNOT_BE_REMOVED). Runs inside `within` (the provisioning request's transaction) when
     * given. Returns false when they were not a member.
     */
    async removeByIdentityProvider(e: { orgId: string; userId: string; source: JoinSource }, within?: Tx) {
      const run = async (tx: Tx): Promise<boolean> => {
        if (!(await lockOrg(tx, e.orgId))) throw appError("ORG_NOT_FOUND");
        const target = await repo.getMember(tx, e.orgId, e.userId);
        if (!target) return false;
        if (target.role === "owner") throw appError("OWNER_CANNOT_BE_REMOVED");
        await repo.deleteMember(tx, e.orgId, e.userId);
        await runRemovedHooks(tx, e.orgId, e.userId, false);
        await recordAudit(tx, SYSTEM_ACTOR, {
          orgId: e.orgId,
          action: "member.removed",
          targetType: "member",
          targetId: e.userId,
          metadata: { email: target.email, role: target.role, via: e.source },
        });
        return true;
      };
      return within ? run(within) : db.transaction(run);
    },

    async leave(ctx: OrgContext) {
      await withOrgLock(db, ctx, "member", "leave", async (tx, fresh) => {
        if (fresh.role === "owner") {
          throw appError("OWNER_CANNOT_LEAVE");
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
