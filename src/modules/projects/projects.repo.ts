/** SQL for projects and project assignments; every statement is scoped by org id. */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import type { Role } from "../../platform/permissions.js";
import { members } from "../organizations/organizations.schema.js";
import { projectMembers, type ProjectRow, projects } from "./projects.schema.js";

export type ProjectInsert = typeof projects.$inferInsert;
export type ProjectPatch = Partial<Omit<ProjectInsert, "id" | "orgId" | "createdBy" | "createdAt" | "updatedAt">>;

/** All projects of the org (managers), or only those `userId` is assigned to. */
export async function listProjects(db: DbOrTx, orgId: string, assignedTo: string | null): Promise<ProjectRow[]> {
  if (assignedTo === null) {
    return db
      .select()
      .from(projects)
      .where(eq(projects.orgId, orgId))
      .orderBy(asc(projects.createdAt), asc(projects.slug));
  }
  const rows = await db
    .select({ p: projects })
    .from(projects)
    .innerJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, assignedTo)))
    .where(eq(projects.orgId, orgId))
    .orderBy(asc(projects.createdAt), asc(projects.slug));
  return rows.map((r) => r.p);
}

/**
 * The project with this slug in the org, if `userId` may reach it: every
 * project when `accessAll`, else only assigned ones. `lock` takes a share lock
 * on the project row and the assignment, so a concurrent unassignment or
 * deletion waits for the caller's transaction (and then sees what it created).
 */
export async function findAccessibleProject(
  db: DbOrTx,
  orgId: string,
  slug: string,
  userId: string,
  accessAll: boolean,
  lock = false,
): Promise<ProjectRow | null> {
  if (accessAll) {
    const q = db
      .select()
      .from(projects)
      .where(and(eq(projects.orgId, orgId), eq(projects.slug, slug)))
      .limit(1);
    const [row] = lock ? await q.for("share") : await q;
    return row ?? null;
  }
  const q = db
    .select({ p: projects })
    .from(projects)
    .innerJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, userId)))
    .where(and(eq(projects.orgId, orgId), eq(projects.slug, slug)))
    .limit(1);
  const [row] = lock ? await q.for("share") : await q;
  return row?.p ?? null;
}

export async function insertProject(db: DbOrTx, row: ProjectInsert): Promise<ProjectRow> {
  const [out] = await db.insert(projects).values(row).returning();
  return out!;
}

export async function updateProject(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  patch: ProjectPatch,
): Promise<ProjectRow> {
  const [out] = await db
    .update(projects)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(and(eq(projects.orgId, orgId), eq(projects.id, projectId)))
    .returning();
  return out!;
}

export async function deleteProject(db: DbOrTx, orgId: string, projectId: string): Promise<void> {
  await db.delete(projects).where(and(eq(projects.orgId, orgId), eq(projects.id, projectId)));
}

export async function slugTaken(db: DbOrTx, orgId: string, slug: string): Promise<boolean> {
  const [row] = await db
    .select({ id: projects.id })
    .from(projects)
    .where(and(eq(projects.orgId, orgId), eq(projects.slug, slug)))
    .limit(1);
  return !!row;
}

export interface AssignmentRow {
  userId: string;
  name: string;
  email: string;
  role: Role;
  assignedAt: Date;
}

export async function listAssignments(db: DbOrTx, orgId: string, projectId: string): Promise<AssignmentRow[]> {
  return db
    .select({
      userId: projectMembers.userId,
      name: users.name,
      email: users.email,
      role: members.role,
      assignedAt: projectMembers.createdAt,
    })
    .from(projectMembers)
    .innerJoin(members, and(eq(members.orgId, projectMembers.orgId), eq(members.userId, projectMembers.userId)))
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(and(eq(projectMembers.orgId, orgId), eq(projectMembers.projectId, projectId)))
    .orderBy(asc(projectMembers.createdAt), asc(users.email));
}

export async function addAssignments(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  userIds: string[],
  assignedBy: string,
): Promise<void> {
  if (userIds.length === 0) return;
  await db
    .insert(projectMembers)
    .values(userIds.map((userId) => ({ projectId, orgId, userId, assignedBy })))
    .onConflictDoNothing();
}

export async function removeAssignments(
  db: DbOrTx,
  orgId: string,
  projectId: string,
  userIds: string[],
): Promise<void> {
  if (userIds.length === 0) return;
  await db
    .delete(projectMembers)
    .where(
      and(
        eq(projectMembers.orgId, orgId),
        eq(projectMembers.projectId, projectId),
        inArray(projectMembers.userId, userIds),
      ),
    );
}

/** The members of the org among `userIds`, with their role. */
export async function membersAmong(
  db: DbOrTx,
  orgId: string,
  userIds: string[],
): Promise<Array<{ userId: string; role: Role }>> {
  if (userIds.length === 0) return [];
  return db
    .select({ userId: members.userId, role: members.role })
    .from(members)
    .where(and(eq(members.orgId, orgId), inArray(members.userId, userIds)));
}

/** Share-locks the actor's membership row and returns its current role (null = no longer a member). */
export async function lockMembership(db: DbOrTx, orgId: string, userId: string): Promise<Role | null> {
  const [row] = await db
    .select({ role: members.role })
    .from(members)
    .where(and(eq(members.orgId, orgId), eq(members.userId, userId)))
    .for("share")
    .limit(1);
  return row?.role ?? null;
}
