/**
 * SQL for memberships (the org's roster), always scoped by org id; used by organizations, members and invitations.
 * A member's last activity is read from what sessions already record (the latest `updated_at` of their
 * sessions, which the auth library refreshes as a session is used): nothing is written per request.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { sessions, users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { newId } from "../../platform/crypto.js";
import type { Role } from "../../platform/permissions.js";
import { members } from "./organizations.schema.js";

export interface MemberRow {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: Date;
  twoFactorEnabled: boolean;
  lastActiveAt: Date | null;
}

const lastActivity =
  sql<Date | null>`(select max(${sessions.updatedAt}) from ${sessions} where ${sessions.userId} = ${members.userId})`
    .mapWith(sessions.updatedAt)
    .as("last_active_at");

const memberColumns = {
  userId: members.userId,
  name: users.name,
  email: users.email,
  role: members.role,
  joinedAt: members.createdAt,
  twoFactorEnabled: users.twoFactorEnabled,
  lastActiveAt: lastActivity,
};

export async function listMembers(db: DbOrTx, orgId: string): Promise<MemberRow[]> {
  return db
    .select(memberColumns)
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .where(eq(members.orgId, orgId))
    .orderBy(asc(members.createdAt));
}

export async function getMember(db: DbOrTx, orgId: string, userId: string): Promise<MemberRow | null> {
  const [row] = await db
    .select(memberColumns)
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .where(and(eq(members.orgId, orgId), eq(members.userId, userId)))
    .limit(1);
  return row ?? null;
}

export async function insertMember(db: DbOrTx, orgId: string, userId: string, role: Role): Promise<void> {
  await db.insert(members).values({ id: newId(), orgId, userId, role });
}

export async function setRole(db: DbOrTx, orgId: string, userId: string, role: Role): Promise<void> {
  await db
    .update(members)
    .set({ role, updatedAt: sql`now()` })
    .where(and(eq(members.orgId, orgId), eq(members.userId, userId)));
}

export async function deleteMember(db: DbOrTx, orgId: string, userId: string): Promise<void> {
  await db.delete(members).where(and(eq(members.orgId, orgId), eq(members.userId, userId)));
}
