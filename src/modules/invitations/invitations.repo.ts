/**
 * SQL for invitations. Org-side reads are scoped by org id; the invitee side finds a row only by its token digest.
 * The one instance-wide read, `hasPendingFor`, answers yes or no for the sign-up policy and returns no row.
 */
import { and, desc, eq, gt, sql } from "drizzle-orm";
import { users } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { organizations } from "../organizations/organizations.schema.js";
import { invitations } from "./invitations.schema.js";

export type InvitationRow = typeof invitations.$inferSelect;
export type InvitationWithInviter = InvitationRow & { inviterName: string | null };

const withInviter = { inv: invitations, inviterName: users.name };

export async function listForOrg(
  db: DbOrTx,
  orgId: string,
  status?: InvitationRow["status"],
): Promise<InvitationWithInviter[]> {
  const rows = await db
    .select(withInviter)
    .from(invitations)
    .leftJoin(users, eq(users.id, invitations.invitedBy))
    .where(status ? and(eq(invitations.orgId, orgId), eq(invitations.status, status)) : eq(invitations.orgId, orgId))
    .orderBy(desc(invitations.createdAt));
  return rows.map((r) => ({ ...r.inv, inviterName: r.inviterName }));
}

export async function getForOrg(db: DbOrTx, orgId: string, id: string, lock = false): Promise<InvitationRow | null> {
  const q = db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)))
    .limit(1);
  const [row] = lock ? await q.for("update") : await q;
  return row ?? null;
}

export async function getByTokenHash(db: DbOrTx, tokenHash: string, lock = false) {
  const q = db
    .select({ inv: invitations, orgName: organizations.name, orgSlug: organizations.slug, inviterName: users.name })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .leftJoin(users, eq(users.id, invitations.invitedBy))
    .where(eq(invitations.tokenHash, tokenHash))
    .limit(1);
  const [row] = lock ? await q.for("update", { of: invitations }) : await q;
  return row ?? null;
}

export async function insert(db: DbOrTx, row: typeof invitations.$inferInsert): Promise<InvitationRow> {
  const [out] = await db.insert(invitations).values(row).returning();
  return out!;
}

export async function update(
  db: DbOrTx,
  id: string,
  patch: Partial<typeof invitations.$inferInsert>,
): Promise<InvitationRow> {
  const [out] = await db
    .update(invitations)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(invitations.id, id))
    .returning();
  return out!;
}

/** Whether a pending, unexpired invitation exists for `email` (lower-cased), in any organization; with `tokenHash`, that one. */
export async function hasPendingFor(db: DbOrTx, email: string, tokenHash?: string): Promise<boolean> {
  const where = [
    eq(invitations.email, email),
    eq(invitations.status, "pending"),
    gt(invitations.expiresAt, sql`now()`),
  ];
  if (tokenHash) where.push(eq(invitations.tokenHash, tokenHash));
  const [row] = await db
    .select({ id: invitations.id })
    .from(invitations)
    .where(and(...where))
    .limit(1);
  return row !== undefined;
}
