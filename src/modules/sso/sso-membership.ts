/**
 * What signing in through an organization's identity provider does to the
 * organization: who may get a new account (an address at a domain the
 * organization verified), and joining (an SSO sign-in or a SCIM provisioning
 * request). The one rule: a person joins with the
 * organization's default SSO role (member unless the owner chose admin); an
 * existing member keeps the role they have. Runs under the organization's row
 * lock, like every roster change, and is audited with the identity provider
 * as the source.
 */
import { recordAudit } from "../../platform/audit.js";
import type { Db, DbOrTx } from "../../platform/db/db.js";
import { getMember, insertMember } from "../organizations/members.repo.js";
import { lockOrg } from "../organizations/org-lock.js";
import type { SsoHooks } from "../../platform/auth/sso.js";
import { emailDomain } from "../../platform/routes.js";
import { DEFAULT_SSO_SETTINGS, getSettings, orgOfVerifiedDomain, providerById } from "./sso.repo.js";

export type JoinSource = "sso" | "scim";

/**
 * Adds the user to the org with its default SSO role unless already a member; returns whether they joined now.
 * Given a transaction, it runs inside it (a savepoint), committing or rolling back with the caller's change.
 */
export async function joinThroughIdentityProvider(
  db: DbOrTx,
  e: { orgId: string; user: { id: string; email: string }; source: JoinSource; ip?: string | null },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await lockOrg(tx, e.orgId))) return false;
    if (await getMember(tx, e.orgId, e.user.id)) return false;
    const { defaultRole } = (await getSettings(tx, e.orgId)) ?? DEFAULT_SSO_SETTINGS;
    await insertMember(tx, e.orgId, e.user.id, defaultRole);
    await recordAudit(
      tx,
      { userId: e.user.id, email: e.user.email, ip: e.ip ?? null },
      {
        orgId: e.orgId,
        action: "member.joined",
        targetType: "member",
        targetId: e.user.id,
        metadata: { email: e.user.email, role: defaultRole, via: e.source },
      },
    );
    return true;
  });
}

/** The answers the auth library's SSO sign-in asks of the organizations (platform/auth/sso.ts). */
export function ssoIdentityHooks(db: Db): SsoHooks {
  return {
    async allowNewAccount(providerId, email) {
      const provider = await providerById(db, providerId);
      if (!provider?.organizationId) return false;
      return (await orgOfVerifiedDomain(db, emailDomain(email))) === provider.organizationId;
    },
    async joined(orgId, user) {
      await joinThroughIdentityProvider(db, { orgId, user, source: "sso" });
    },
  };
}
