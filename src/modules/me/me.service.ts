/**
 * The signed-in user's view: profile, organizations with role, and the last
 * active organization (remembered per user; falls back to the personal, then
 * the oldest, organization when the remembered one is gone).
 */
import { eq, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { Actor } from "../../platform/auth/guard.js";
import { ssoSignInNeeded } from "../../platform/auth/sso.js";
import type { Db } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import * as orgRepo from "../organizations/organizations.repo.js";
import { orgOut } from "../organizations/organizations.service.js";

export function createMeService(deps: { db: Db }) {
  const { db } = deps;

  async function me(actor: Actor) {
    const [user] = await db
      .select({
        id: users.id,
        name: users.name,
        email: users.email,
        emailVerified: users.emailVerified,
        twoFactorEnabled: users.twoFactorEnabled,
        createdAt: users.createdAt,
      })
      .from(users)
      .where(eq(users.id, actor.userId))
      .limit(1);
    if (!user) throw appError("USER_NOT_FOUND");
    const orgs = await orgRepo.listForUser(db, actor.userId);
    const activeId = await orgRepo.getActiveOrgId(db, actor.userId);
    const active = orgs.find((o) => o.id === activeId) ?? orgs.find((o) => o.personal && o.role === "owner") ?? orgs[0];
    return {
      user: { ...user, createdAt: user.createdAt.toISOString() },
      organizations: orgs.map((o) => ({
        ...orgOut(o, o.role),
        ssoSignInNeeded: ssoSignInNeeded({ requireSso: o.requireSso, role: o.role, orgId: o.id }, actor),
      })),
      activeOrganization: active?.slug ?? null,
    };
  }

  return {
    me,
    async update(actor: Actor, body: { name?: string; activeOrganization?: string }) {
      if (body.activeOrganization !== undefined) {
        const membership = await orgRepo.findMembership(db, body.activeOrganization, actor.userId);
        if (!membership) throw appError("ORG_NOT_FOUND", `No organization "${body.activeOrganization}" among yours.`);
        await orgRepo.setActiveOrgId(db, actor.userId, membership.orgId);
      }
      if (body.name !== undefined) {
        await db.update(users).set({ name: body.name, updatedAt: sql`now()` }).where(eq(users.id, actor.userId));
      }
      return me(actor);
    },
  };
}

export type MeService = ReturnType<typeof createMeService>;
