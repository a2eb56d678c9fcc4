/** SQL for custom providers, always scoped by org id. */
import { and, asc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/db.js";
import { customProviders } from "./providers.schema.js";

export type ProviderRow = typeof customProviders.$inferSelect;

export const listForOrg = (db: DbOrTx, orgId: string): Promise<ProviderRow[]> =>
  db.select().from(customProviders).where(eq(customProviders.orgId, orgId)).orderBy(asc(customProviders.createdAt));

export async function getBySlug(db: DbOrTx, orgId: string, slug: string): Promise<ProviderRow | null> {
  const [row] = await db
    .select()
    .from(customProviders)
    .where(and(eq(customProviders.orgId, orgId), eq(customProviders.slug, slug)))
    .limit(1);
  return row ?? null;
}

export async function insert(db: DbOrTx, row: typeof customProviders.$inferInsert): Promise<ProviderRow> {
  const [out] = await db.insert(customProviders).values(row).returning();
  return out!;
}

export async function update(
  db: DbOrTx,
  orgId: string,
  id: string,
  patch: Partial<typeof customProviders.$inferInsert>,
): Promise<ProviderRow> {
  const [out] = await db
    .update(customProviders)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(and(eq(customProviders.orgId, orgId), eq(customProviders.id, id)))
    .returning();
  return out!;
}

export async function remove(db: DbOrTx, orgId: string, id: string): Promise<void> {
  await db.delete(customProviders).where(and(eq(customProviders.orgId, orgId), eq(customProviders.id, id)));
}
