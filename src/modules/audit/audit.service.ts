/** Reading the audit trail (owner, admin), newest first, cursor-paged by id; a token actor comes with its name. */
import { and, desc, eq, gte, lt, lte, type SQL } from "drizzle-orm";
import { auditLog } from "../../platform/audit.schema.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db } from "../../platform/db/db.js";
import { orgApiTokens } from "../api-tokens/api-tokens.schema.js";
import { assertCan } from "../../platform/permissions.js";
import type { AuditQuery } from "./audit.schema.js";

export function createAuditService(deps: { db: Db }) {
  return {
    async list(ctx: OrgContext, q: AuditQuery) {
      assertCan(ctx, "audit", "read");
      const where: SQL[] = [eq(auditLog.orgId, ctx.orgId)];
      if (q.cursor) where.push(lt(auditLog.id, BigInt(q.cursor)));
      if (q.action) where.push(eq(auditLog.action, q.action));
      if (q.actorUserId) where.push(eq(auditLog.actorUserId, q.actorUserId));
      if (q.actorTokenId) where.push(eq(auditLog.actorTokenId, q.actorTokenId));
      if (q.targetType) where.push(eq(auditLog.targetType, q.targetType));
      if (q.from) where.push(gte(auditLog.createdAt, new Date(q.from)));
      if (q.to) where.push(lte(auditLog.createdAt, new Date(q.to)));
      const rows = await deps.db
        .select({ r: auditLog, tokenName: orgApiTokens.name })
        .from(auditLog)
        .leftJoin(orgApiTokens, eq(orgApiTokens.id, auditLog.actorTokenId))
        .where(and(...where))
        .orderBy(desc(auditLog.id))
        .limit(q.limit + 1);
      const page = rows.slice(0, q.limit);
      return {
        entries: page.map(({ r, tokenName }) => ({
          id: r.id.toString(),
          action: r.action,
          actor: {
            userId: r.actorUserId,
            email: r.actorEmail,
            token: r.actorTokenId ? { id: r.actorTokenId, name: tokenName } : null,
          },
          targetType: r.targetType,
          targetId: r.targetId,
          metadata: r.metadata,
          ip: r.ip,
          createdAt: r.createdAt.toISOString(),
        })),
        nextCursor: rows.length > q.limit ? page[page.length - 1]!.r.id.toString() : null,
      };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
