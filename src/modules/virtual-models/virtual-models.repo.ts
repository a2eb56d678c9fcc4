/** SQL for virtual models, always scoped by org id. */
import { and, asc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { type VirtualModelRow, virtualModels } from "./virtual-models.schema.js";

export const listForOrg = (db: DbOrTx, orgId: string): Promise<VirtualModelRow[]> =>
  db.select().from(virtualModels).where(eq(virtualModels.orgId, orgId)).orderBy(asc(virtualModels.name));

export async function getByName(db: DbOrTx, orgId: string, name: string): Promise<VirtualModelRow | null> {
  const [row] = await db
    .select()
    .from(virtualModels)
    .where(and(eq(virtualModels.orgId, orgId), eq(virtualModels.name, name)))
    .limit(1);
  return row ?? null;
}

export async function insert(db: DbOrTx, row: typeof virtualModels.$inferInsert): Promise<VirtualModelRow> {
  const [out] = await db.insert(virtualModels).values(row).returning();
  return out!;
}

export async function update(
  db: DbOrTx,
  orgId: string,
  id: string,
  patch: Partial<typeof virtualModels.$inferInsert>,
): Promise<VirtualModelRow> {
  const [out] = await db
    .update(virtualModels)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(and(eq(virtualModels.orgId, orgId), eq(virtualModels.id, id)))
    .returning();
  return out!;
}

export async function remove(db: DbOrTx, orgId: string, id: string): Promise<void> {
  await db.delete(virtualModels).where(and(eq(virtualModels.orgId, orgId), eq(virtualModels.id, id)));
}
