/**
 * Reading the audit trail (owner, admin), newest first, cursor-paged by id, with filters. Each
 * entry comes with the names it mentions as they are now (the acting person or token, a person or
 * project it targets, a key's project), so a reader sees sentences rather than ids.
 */
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db } from "../../platform/db/db.js";
import { assertRange } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import { type AuditNames, type AuditRow, listEntries, namesFor, type Person } from "./audit.repo.js";
import type { AuditQuery } from "./audit.schema.js";

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The project an entry concerns: a project target, a key's project (by id, else the slug recorded), a project policy. */
function projectOf(r: AuditRow, names: AuditNames) {
  const id =
    r.targetType === "project"
      ? r.targetId
      : r.targetType === "key" && r.targetId
        ? (names.keyProject.get(r.targetId) ?? str(r.metadata.projectId))
        : null;
  const slug =
    str(r.metadata.projectSlug) ??
    str(r.metadata.project) ??
    (r.targetType === "project" ? str(r.metadata.slug) : null);
  if (!id && !slug) return null;
  const found = id ? names.projects.get(id) : undefined;
  return { id: id ?? null, slug: found?.slug ?? slug, name: found?.name ?? null };
}

function targetNameOf(r: AuditRow, names: AuditNames): string | null {
  if (!r.targetId) return null;
  if (r.targetType === "member" || r.targetType === "user") return names.people.get(r.targetId)?.name ?? null;
  if (r.targetType === "project") return names.projects.get(r.targetId)?.name ?? null;
  return null;
}

export function createAuditService(deps: { db: Db }) {
  return {
    async list(ctx: OrgContext, q: AuditQuery) {
      assertCan(ctx, "audit", "read");
      assertRange(q.from, q.to, "from must not be after to.");
      const rows = await listEntries(deps.db, ctx.orgId, q);
      const page = rows.slice(0, q.limit);
      const names = await namesFor(
        deps.db,
        ctx.orgId,
        page.map(({ r }) => r),
      );
      const people: Record<string, Person> = Object.fromEntries(names.people);
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
          targetName: targetNameOf(r, names),
          project: projectOf(r, names),
          metadata: r.metadata,
          ip: r.ip,
          createdAt: r.createdAt.toISOString(),
        })),
        nextCursor: rows.length > q.limit ? page[page.length - 1]!.r.id.toString() : null,
        people,
      };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
