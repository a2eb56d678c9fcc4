/** SQL for security policies and incidents, always scoped by organization. Incident cursor = (created_at, id), newest first. */
import { and, desc, eq, gte, isNotNull, isNull, lt, lte, or, type SQL } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { projects } from "../projects/projects.schema.js";
import { orgSecurityPolicies, projectSecurityPolicies, securityIncidents } from "./policies.schema.js";

export type IncidentInsert = typeof securityIncidents.$inferInsert;

export async function getOrgPolicy(db: DbOrTx, orgId: string): Promise<unknown | null> {
  const [row] = await db
    .select({ policy: orgSecurityPolicies.policy })
    .from(orgSecurityPolicies)
    .where(eq(orgSecurityPolicies.orgId, orgId))
    .limit(1);
  return row ? row.policy : null;
}

export async function putOrgPolicy(db: DbOrTx, orgId: string, policy: unknown, userId: string): Promise<void> {
  const now = new Date();
  await db
    .insert(orgSecurityPolicies)
    .values({ orgId, policy, updatedBy: userId, updatedAt: now })
    .onConflictDoUpdate({ target: orgSecurityPolicies.orgId, set: { policy, updatedBy: userId, updatedAt: now } });
}

export async function getOverride(db: DbOrTx, orgId: string, projectId: string): Promise<unknown | null> {
  const [row] = await db
    .select({ override: projectSecurityPolicies.override })
    .from(projectSecurityPolicies)
    .where(and(eq(projectSecurityPolicies.orgId, orgId), eq(projectSecurityPolicies.projectId, projectId)))
    .limit(1);
  return row ? row.override : null;
}

export async function putOverride(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  override: unknown,
  userId: string,
): Promise<void> {
  const now = new Date();
  await db
    .insert(projectSecurityPolicies)
    .values({ projectId, orgId, override, updatedBy: userId, updatedAt: now })
    .onConflictDoUpdate({
      target: projectSecurityPolicies.projectId,
      set: { override, updatedBy: userId, updatedAt: now },
    });
}

export async function insertIncidents(db: DbOrTx, rows: IncidentInsert[]): Promise<void> {
  if (rows.length)
    await db.insert(securityIncidents).values(rows).onConflictDoNothing({ target: securityIncidents.id });
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { at: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const date = at ? new Date(at) : null;
  return date && !Number.isNaN(date.getTime()) && id ? { at: date, id } : null;
}

export interface IncidentFilters {
  projectId?: string;
  type?: string;
  action?: string;
  severity?: string;
  direction?: string;
  reviewed?: boolean;
  from?: string;
  to?: string;
  requestId?: string;
  cursor?: string;
}

export function incidentFilters(orgId: string, f: IncidentFilters): SQL[] | null {
  const t = securityIncidents;
  const where: SQL[] = [eq(t.orgId, orgId)];
  if (f.projectId) where.push(eq(t.projectId, f.projectId));
  if (f.type) where.push(eq(t.type, f.type));
  if (f.action) where.push(eq(t.action, f.action as never));
  if (f.severity) where.push(eq(t.severity, f.severity as never));
  if (f.direction) where.push(eq(t.direction, f.direction as never));
  if (f.reviewed !== undefined) where.push(f.reviewed ? isNotNull(t.reviewedAt) : isNull(t.reviewedAt));
  if (f.from) where.push(gte(t.createdAt, new Date(f.from)));
  if (f.to) where.push(lte(t.createdAt, new Date(f.to)));
  if (f.requestId) where.push(eq(t.requestId, f.requestId));
  if (f.cursor) {
    const c = decodeCursor(f.cursor);
    if (!c) return null;
    where.push(or(lt(t.createdAt, c.at), and(eq(t.createdAt, c.at), lt(t.id, c.id)))!);
  }
  return where;
}

const incidentColumns = {
  incident: securityIncidents,
  project: { id: projects.id, slug: projects.slug, name: projects.name },
  reviewer: { id: users.id, email: users.email },
};

export type IncidentRow = {
  incident: typeof securityIncidents.$inferSelect;
  project: { id: string; slug: string; name: string };
  reviewer: { id: string; email: string } | null;
};

export async function pageIncidents(db: DbOrTx, where: SQL[], limit: number): Promise<IncidentRow[]> {
  return db
    .select(incidentColumns)
    .from(securityIncidents)
    .innerJoin(projects, eq(projects.id, securityIncidents.projectId))
    .leftJoin(users, eq(users.id, securityIncidents.reviewedBy))
    .where(and(...where))
    .orderBy(desc(securityIncidents.createdAt), desc(securityIncidents.id))
    .limit(limit);
}

export async function getIncident(db: DbOrTx, orgId: string, id: string): Promise<IncidentRow | null> {
  const [row] = await db
    .select(incidentColumns)
    .from(securityIncidents)
    .innerJoin(projects, eq(projects.id, securityIncidents.projectId))
    .leftJoin(users, eq(users.id, securityIncidents.reviewedBy))
    .where(and(eq(securityIncidents.orgId, orgId), eq(securityIncidents.id, id)))
    .limit(1);
  return row ?? null;
}

export async function markReviewed(
  db: DbOrTx,
  orgId: string,
  id: string,
  userId: string,
  note: string | null,
): Promise<boolean> {
  const out = await db
    .update(securityIncidents)
    .set({ reviewedAt: new Date(), reviewedBy: userId, reviewNote: note })
    .where(and(eq(securityIncidents.orgId, orgId), eq(securityIncidents.id, id)))
    .returning({ id: securityIncidents.id });
  return out.length > 0;
}
