/**
 * Row locks on an organization. Lock order everywhere: the organization row
 * first, then what it owns (deleting an organization takes the same order).
 *  - `withOrgLock` / `lockOrg` (FOR UPDATE): membership changes, org settings,
 *    ownership transfer, project assignments and invitation answers of one
 *    organization run one at a time and decide on fresh data;
 *  - `shareLockOrg` (FOR KEY SHARE): key creation waits behind those changes
 *    instead of deadlocking with them on the member row, and does not block
 *    other key creations.
 */
import { eq } from "drizzle-orm";
import type { OrgContext } from "../../platform/auth/guard.js";
import { withMemberRole } from "../../platform/auth/org-token.js";
import type { Db, DbOrTx, Tx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { type Action, assertCan, type Resource } from "../../platform/permissions.js";
import { getMember } from "./members.repo.js";
import type { OrgRow } from "./organizations.repo.js";
import { organizations } from "./organizations.schema.js";

/** Locks the organization row FOR UPDATE for the rest of the transaction; null if it is gone. */
export async function lockOrg(tx: DbOrTx, orgId: string): Promise<OrgRow | null> {
  const [row] = await tx.select().from(organizations).where(eq(organizations.id, orgId)).for("update").limit(1);
  return row ?? null;
}

/** Locks the organization row FOR KEY SHARE for the rest of the transaction; false if it is gone. */
export async function shareLockOrg(tx: DbOrTx, orgId: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.id, orgId))
    .for("key share")
    .limit(1);
  return !!row;
}

/**
 * Runs `fn` in a transaction holding the organization's row lock, with the
 * actor's role re-read under the lock and checked as `assertCan(ctx, resource,
 * action)` would (same argument order).
 */
export async function withOrgLock<R extends Resource, T>(
  db: Db,
  ctx: OrgContext,
  resource: R,
  action: Action<R>,
  fn: (tx: Tx, fresh: OrgContext) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const org = await lockOrg(tx, ctx.orgId);
    if (!org) throw appError("ORG_NOT_FOUND");
    const me = await getMember(tx, ctx.orgId, ctx.userId);
    if (!me) throw appError("ORG_NOT_FOUND", "You are no longer a member of this organization.");
    const fresh: OrgContext = { ...withMemberRole(ctx, me.role), orgSlug: org.slug };
    assertCan(fresh, resource, action);
    return fn(tx, fresh);
  });
}
