/**
 * Organization API token rules. Invariants:
 *  - owners and admins list, mint and revoke tokens; only the owner mints
 *    admin tokens; tokens themselves never mint (the permission table);
 *  - a token acts for its creator: its project list holds projects the creator
 *    reaches when it is minted, and removing the creator from the organization
 *    revokes their tokens in the removal's transaction (`memberRemovedHook`);
 *  - the full token exists only in the creation response: the row holds its
 *    SHA-256 and a hint, and audit rows carry id, name, hint, role, projects;
 *  - revocation is effective in this process before the response is sent and
 *    on every replica through the invalidation bus (the verifier's cache).
 */
import { recordAudit, SYSTEM_ACTOR } from "../../platform/audit.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import { newId } from "../../platform/crypto.js";
import type { Db, Tx } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import type { CacheInvalidationBus } from "../../platform/invalidation-bus.js";
import { assertCan } from "../../platform/permissions.js";
import { withOrgLock } from "../organizations/org-lock.js";
import { resolveProject } from "../projects/projects.service.js";
import { generateOrgToken, tokenDigest, tokenHint } from "./api-tokens.format.js";
import * as repo from "./api-tokens.repo.js";
import { type CreateTokenInput, MAX_ACTIVE_TOKENS_PER_ORG, type OrgApiTokenRow } from "./api-tokens.schema.js";

function tokenOut(t: repo.TokenWithCreator, slugs: Map<string, string>, nowMs = Date.now()) {
  const status = t.revokedAt ? "revoked" : t.expiresAt && t.expiresAt.getTime() <= nowMs ? "expired" : "active";
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    // A project deleted since keeps its id in the restriction (it can never match again): shown by id.
    projects: t.projectIds?.map((id) => slugs.get(id) ?? id) ?? null,
    hint: t.hint,
    status: status as "active" | "expired" | "revoked",
    createdBy: { userId: t.createdBy, email: t.creatorEmail },
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    revokedReason: t.revokedReason,
  };
}

const auditFields = (t: Pick<OrgApiTokenRow, "name" | "hint" | "role">) => ({
  name: t.name,
  hint: t.hint,
  role: t.role,
});

/** The projects of `slugs` that ctx (the minting person) reaches, deduplicated; 404 for any other. */
async function restrictTo(tx: Tx, ctx: OrgContext, slugs: string[] | undefined) {
  if (!slugs) return null;
  const found = new Map<string, string>();
  for (const slug of new Set(slugs)) found.set((await resolveProject(tx, ctx, slug)).project.id, slug);
  return found;
}

export function createApiTokenService(deps: { db: Db; bus: CacheInvalidationBus; now?: () => number }) {
  const { db, bus } = deps;
  const now = deps.now ?? Date.now;

  return {
    async list(ctx: OrgContext) {
      assertCan(ctx, "apiToken", "read");
      const [rows, slugs] = await Promise.all([repo.listTokens(db, ctx.orgId), repo.projectSlugs(db, ctx.orgId)]);
      const t = now();
      return rows.map((r) => tokenOut(r, slugs, t));
    },

    async create(ctx: OrgContext, body: CreateTokenInput) {
      assertCan(ctx, "apiToken", body.role === "admin" ? "createAdmin" : "create");
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= now()) throw appError("EXPIRY_IN_PAST");
      const raw = generateOrgToken();
      const { row, slugs } = await withOrgLock(db, ctx, "apiToken", "create", async (tx, fresh) => {
        assertCan(fresh, "apiToken", body.role === "admin" ? "createAdmin" : "create");
        const projects = await restrictTo(tx, fresh, body.projects);
        if ((await repo.countActiveTokens(tx, fresh.orgId)) >= MAX_ACTIVE_TOKENS_PER_ORG) {
          throw appError(
            "API_TOKEN_LIMIT_REACHED",
            `An organization can have at most ${MAX_ACTIVE_TOKENS_PER_ORG} active API tokens. Revoke unused ones first.`,
          );
        }
        const token = await repo.insertToken(tx, {
          id: newId(),
          orgId: fresh.orgId,
          name: body.name,
          role: body.role,
          projectIds: projects ? [...projects.keys()] : null,
          digest: tokenDigest(raw),
          hint: tokenHint(raw),
          createdBy: fresh.userId,
          expiresAt,
        });
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "api_token.created",
          targetType: "api_token",
          targetId: token.id,
          metadata: {
            ...auditFields(token),
            projects: projects ? [...projects.values()] : null,
            expiresAt: expiresAt?.toISOString() ?? null,
          },
        });
        return { row: token, slugs: projects ?? new Map<string, string>() };
      });
      return { ...tokenOut({ ...row, creatorEmail: ctx.email }, slugs, now()), token: raw };
    },

    async revoke(ctx: OrgContext, tokenId: string) {
      assertCan(ctx, "apiToken", "revoke");
      const revoked = await withOrgLock(db, ctx, "apiToken", "revoke", async (tx, fresh) => {
        const token = await repo.getTokenForUpdate(tx, fresh.orgId, tokenId);
        if (!token) throw appError("API_TOKEN_NOT_FOUND");
        // Revoking twice is a no-op: the first revocation (and its audit row) stands.
        if (token.revokedAt) return false;
        await repo.revokeToken(tx, fresh.orgId, token.id, fresh.userId);
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "api_token.revoked",
          targetType: "api_token",
          targetId: token.id,
          metadata: { ...auditFields(token), reason: "revoked" },
        });
        return true;
      });
      if (revoked) bus.publish({ scope: "keys", keyIds: [tokenId] });
    },

    /**
     * MemberHooks.memberRemoved: inside the removal's transaction (the org row
     * is locked). A token acts for its creator, so it cannot outlive their
     * membership (whatever the remover decides for project keys).
     */
    async memberRemovedHook(tx: Tx, e: { orgId: string; userId: string }) {
      const tokens = await repo.revokeTokensOfUser(tx, e.orgId, e.userId);
      for (const t of tokens) {
        await recordAudit(tx, SYSTEM_ACTOR, {
          orgId: e.orgId,
          action: "api_token.revoked",
          targetType: "api_token",
          targetId: t.id,
          metadata: { ...auditFields(t), reason: "member_removed", ownerUserId: e.userId },
        });
      }
      // Not committed yet: caches drop the tokens now and re-read them uncached until the commit has surely landed.
      if (tokens.length > 0) bus.publish({ scope: "keys", keyIds: tokens.map((t) => t.id), beforeCommit: true });
    },
  };
}

export type ApiTokenService = ReturnType<typeof createApiTokenService>;
