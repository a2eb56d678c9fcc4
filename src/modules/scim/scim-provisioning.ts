/**
 * What the SCIM plugin asks the organizations (platform/auth/scim.ts,
 * `ScimHooks`):
 *
 *  - whose token a bearer is (digest lookup; a disabled organization's token
 *    answers nothing) — its use is recorded at most once a minute;
 *  - what a provisioned address becomes: only an address at a domain this
 *    organization verified (DNS TXT, under single sign-on) is provisioned,
 *    the rule SSO sign-in follows. Any other address is refused, whether or
 *    not an account has it, so no organization squats another company's
 *    addresses or pulls (and then deprovisions) a stranger's account. At a
 *    verified domain the address is the organization's: no account → a new
 *    one; an account → linked (whether or not its owner verified it);
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
import { emailDomain } from "../../platform/routes.js";
import type { MemberService } from "../members/members.service.js";
import { joinThroughIdentityProvider } from "../sso/sso-membership.js";
import { orgOfVerifiedDomain } from "../sso/sso.repo.js";
import * as repo from "./scim.repo.js";
import { isWellFormedScimToken, scimTokenDigest } from "./scim-token.format.js";

const outsideVerifiedDomains = (domain: string) =>
  `${domain ? `The domain ${domain}` : "This address"} is outside this organization's verified domains; ` +
  "verify the domain under Settings → Single sign-on first.";

async function findAccount(db: DbOrTx, email: string) {
  const [row] = await db
    .select({ id: users.id })
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
  const allowsAddress = async (orgId: string, email: string) => {
    const domain = emailDomain(email);
    return !!domain && (await orgOfVerifiedDomain(db, domain)) === orgId;
  };
  return {
    async verifyToken(token) {
      if (!isWellFormedScimToken(token)) return null;
      const found = await repo.findByDigest(db, scimTokenDigest(token));
      if (!found) return null;
      await repo.touchToken(db, found.id);
      return { orgId: found.orgId, tokenId: found.id };
    },

    allowsAddress,

    async resolveAccount(orgId, email): Promise<AccountResolution> {
      const domain = emailDomain(email);
      if (!(await allowsAddress(orgId, email))) {
        return { action: "refuse", reason: outsideVerifiedDomains(domain) };
      }
      const account = await findAccount(db, email);
      return account ? { action: "link", userId: account.id } : { action: "create" };
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
