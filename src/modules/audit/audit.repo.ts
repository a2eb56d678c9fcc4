/**
 * Audit-log queries: a page of one organization's rows (filters, cursor by id, newest first), and
 * the names a page mentions, looked up as they are now: people by user id (actors, member and user
 * targets, ids in metadata) and projects by id (project targets, a key's project).
 */
import { and, desc, eq, gte, inArray, lt, lte, type SQL } from "drizzle-orm";
import { auditLog } from "../../platform/audit.schema.js";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { orgApiTokens } from "../api-tokens/api-tokens.schema.js";
import { apiKeys } from "../keys/keys.schema.js";
import { projects } from "../projects/projects.schema.js";
import type { AuditQuery } from "./audit.schema.js";

export type AuditRow = typeof auditLog.$inferSelect;

/** Up to `limit + 1` rows (the extra one says there is a next page), each with its acting token's name. */
export async function listEntries(db: DbOrTx, orgId: string, q: AuditQuery) {
  const where: SQL[] = [eq(auditLog.orgId, orgId)];
  if (q.cursor) where.push(lt(auditLog.id, BigInt(q.cursor)));
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.actorUserId) where.push(eq(auditLog.actorUserId, q.actorUserId));
  if (q.actorTokenId) where.push(eq(auditLog.actorTokenId, q.actorTokenId));
  if (q.targetType) where.push(eq(auditLog.targetType, q.targetType));
  if (q.from) where.push(gte(auditLog.createdAt, new Date(q.from)));
  if (q.to) where.push(lte(auditLog.createdAt, new Date(q.to)));
  return db
    .select({ r: auditLog, tokenName: orgApiTokens.name })
    .from(auditLog)
    .leftJoin(orgApiTokens, eq(orgApiTokens.id, auditLog.actorTokenId))
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(q.limit + 1);
}

export interface Person {
  name: string;
  email: string;
}
export interface ProjectName {
  id: string;
  slug: string;
  name: string;
}

/** Metadata keys that hold user ids (ownership transfer, a revoked key's or token's owner, project assignments). */
const PERSON_KEYS = ["from", "to", "ownerUserId", "added", "removed"] as const;
const PERSON_ACTIONS = new Set([
  "org.ownership_transferred",
  "key.revoked",
  "api_token.revoked",
  "project.members_updated",
]);

const strings = (v: unknown): string[] =>
  typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/** The user ids a row names. */
export function peopleOf(r: AuditRow): string[] {
  const ids: string[] = [];
  if (r.actorUserId) ids.push(r.actorUserId);
  if ((r.targetType === "member" || r.targetType === "user") && r.targetId) ids.push(r.targetId);
  if (PERSON_ACTIONS.has(r.action)) for (const k of PERSON_KEYS) ids.push(...strings(r.metadata[k]));
  return ids;
}

/** People and projects the rows name, as they are now (gone ones are simply absent). */
export async function namesFor(db: DbOrTx, orgId: string, rows: AuditRow[]) {
  const userIds = [...new Set(rows.flatMap(peopleOf))];
  const keyIds = [...new Set(rows.filter((r) => r.targetType === "key" && r.targetId).map((r) => r.targetId!))];
  const [people, keys] = await Promise.all([
    userIds.length
      ? db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(inArray(users.id, userIds))
      : [],
    keyIds.length
      ? db
          .select({ id: apiKeys.id, projectId: apiKeys.projectId })
          .from(apiKeys)
          .where(and(eq(apiKeys.orgId, orgId), inArray(apiKeys.id, keyIds)))
      : [],
  ]);
  const keyProject = new Map(keys.map((k) => [k.id, k.projectId]));
  const projectIds = new Set<string>(keyProject.values());
  for (const r of rows) {
    if (r.targetType === "project" && r.targetId) projectIds.add(r.targetId);
    for (const id of strings(r.metadata.projectId)) projectIds.add(id);
  }
  const found = projectIds.size
    ? await db
        .select({ id: projects.id, slug: projects.slug, name: projects.name })
        .from(projects)
        .where(and(eq(projects.orgId, orgId), inArray(projects.id, [...projectIds])))
    : [];
  return {
    people: new Map<string, Person>(people.map((p) => [p.id, { name: p.name, email: p.email }])),
    projects: new Map<string, ProjectName>(found.map((p) => [p.id, p])),
    keyProject,
  };
}
export type AuditNames = Awaited<ReturnType<typeof namesFor>>;
