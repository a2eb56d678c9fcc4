/**
 * An organization's SCIM settings. Invariants:
 *  - owners and admins see whether SCIM is on; only the owner enables it,
 *    rotates its token or disables it, and an organization API token never
 *    does (the permission table);
 *  - an organization has at most one SCIM token: creating one enables SCIM,
 *    creating another replaces it (the old one is refused from the commit
 *    on), disabling deletes it (refused at once); what was provisioned stays;
 *  - the full token exists only in the creation response: the row holds its
 *    SHA-256 and a hint, and audit rows carry the hint only;
 *  - changes run under the organization's row lock and are audited
 *    (`scim.enabled`, `scim.token_rotated`, `scim.disabled`).
 */
import { recordAudit } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { SCIM_PATH } from "../../platform/auth/scim.js";
import { newId } from "../../platform/crypto.js";
import type { Db } from "../../platform/db/db.js";
import { assertCan } from "../../platform/permissions.js";
import { withOrgLock } from "../organizations/org-lock.js";
import * as repo from "./scim.repo.js";
import { generateScimToken, scimTokenDigest, scimTokenHint } from "./scim-token.format.js";

export function createScimService(deps: { db: Db; publicUrl: string }) {
  const { db } = deps;
  const baseUrl = `${deps.publicUrl.replace(/\/+$/, "")}${SCIM_PATH}`;

  const statusOf = (row: repo.ScimTokenWithCreator | null) =>
    row
      ? {
          enabled: true,
          baseUrl,
          tokenHint: row.hint,
          createdAt: row.createdAt.toISOString(),
          createdBy: { userId: row.createdBy, email: row.creatorEmail },
          lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
        }
      : { enabled: false, baseUrl };

  return {
    async status(ctx: OrgContext) {
      assertCan(ctx, "scim", "read");
      return statusOf(await repo.getToken(db, ctx.orgId));
    },

    /** Enables SCIM with a new token, or replaces the token; returns it (the only time it is shown). */
    async rotateToken(ctx: OrgContext) {
      assertCan(ctx, "scim", "manage");
      const raw = generateScimToken();
      const row = await withOrgLock(db, ctx, "scim", "manage", async (tx, fresh) => {
        const previous = await repo.getToken(tx, fresh.orgId);
        const created = await repo.putToken(tx, {
          id: newId(),
          orgId: fresh.orgId,
          digest: scimTokenDigest(raw),
          hint: scimTokenHint(raw),
          createdBy: fresh.userId,
        });
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: previous ? "scim.token_rotated" : "scim.enabled",
          targetType: "scim",
          targetId: fresh.orgId,
          metadata: previous ? { hint: created.hint, previousHint: previous.hint } : { hint: created.hint },
        });
        return created;
      });
      return { ...statusOf({ ...row, creatorEmail: ctx.email }), token: raw };
    },

    /** Disables SCIM: the token is deleted (refused from now on); provisioned people stay members. */
    async disable(ctx: OrgContext) {
      assertCan(ctx, "scim", "manage");
      await withOrgLock(db, ctx, "scim", "manage", async (tx, fresh) => {
        const removed = await repo.deleteToken(tx, fresh.orgId);
        if (!removed) return;
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "scim.disabled",
          targetType: "scim",
          targetId: fresh.orgId,
          metadata: { hint: removed.hint },
        });
      });
    },
  };
}

export type ScimService = ReturnType<typeof createScimService>;
