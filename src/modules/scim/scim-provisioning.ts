/**
 * What the SCIM plugin asks the organizations (platform/auth/scim.ts,
 * `ScimHooks`):
 *
 *  - whose token a bearer is (digest lookup; a disabled organization's token
 *    answers nothing) — its use is recorded at most once a minute;
 *  - whether a provisioned address links an existing account: only a proven
 *    one (its owner verified it, or the organization verified its domain for
 *    SSO). An unproven account is not taken over: the request is refused and
 *    its owner can verify the address (or reset the password) first;
 *  - membership, inside the plugin's transaction: active → joins with the
 *    organization's default SSO role (sso-membership.ts, a no-op for a member);
 *    inactive or deleted → removed like a removal by an admin, keys and tokens
 *    in the org revoked (members.service.ts); the owner is never removed.
 */
import { eq } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { AccountResolution, ScimHooks } from "../../platform/auth/scim.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { AppError } from "../../platform/errors.js";
import type { MemberService } from "../members/members.service.js";
import { joinThroughIdentityProvider } from "../sso/sso-membership.js";
import { orgOfVerifiedDomain } from "../sso/sso.repo.js";
import * as repo from "./scim.repo.js";
import { isWellFormedScimToken, scimTokenDigest } from "./scim-token.format.js";

const NOT_PROVEN =
  "An account with this email already exists but its address is not verified, so it is not linked. " +
  "Its owner can verify the address (or reset the password) in Tollgate; then retry.";

async function findAccount(db: DbOrTx, email: string) {
  const [row] = await db
    .select({ id: users.id, email: users.email, emailVerified: users.emailVerified })
    .from(users)
    .where(eq(users.email, email.trim().toLowerCase()))
    .limit(1);
  return row ?? null;
}

export function createScimProvisioning(deps: {
  db: Db;
  members: Pick<MemberService, "removeByIdentityProvider">;
}): ScimHooks {
  const { db, members } = deps;
  return {
    async verifyToken(token) {
      if (!isWellFormedScimToken(token)) return null;
      const found = await repo.findByDigest(db, scimTokenDigest(token));
      if (!found) return null;
      await repo.touchToken(db, found.id);
      return { orgId: found.orgId, tokenId: found.id };
    },

    async resolveAccount(orgId, email): Promise<AccountResolution> {
      const account = await findAccount(db, email);
      if (!account) return { action: "create" };
      if (account.emailVerified) return { action: "link", userId: account.id };
      const domain = account.email.split("@").pop() ?? "";
      if ((await orgOfVerifiedDomain(db, domain)) === orgId) return { action: "link", userId: account.id };
      return { action: "refuse", reason: NOT_PROVEN };
    },

    async reconcileMembership(tx, e) {
      if (e.active) {
        const [user] = await tx.select({ id: users.id, email: users.email }).from(users).where(eq(users.id, e.userId));
        // The membership write joins the provisioning transaction (a savepoint inside it).
        if (user) await joinThroughIdentityProvider(tx, { orgId: e.orgId, user, source: "scim" });
        return "done";
      }
      try {
        await members.removeByIdentityProvider({ orgId: e.orgId, userId: e.userId, source: "scim" }, tx);
        return "done";
      } catch (err) {
        if (err instanceof AppError && err.code === "OWNER_CANNOT_BE_REMOVED") return "owner";
        throw err;
      }
    },
  };
}
