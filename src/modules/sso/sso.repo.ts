/**
 * SQL for an organization's single sign-on: its settings, its claimed email
 * domains and its identity provider rows. Scoped by organization id, except
 * the lookups by verified domain, which answer "which organization owns this
 * address" for sign-in and provisioning.
 */
import { and, eq, isNotNull, sql } from "drizzle-orm";
import { verifications } from "../../platform/auth/auth.schema.js";
import type { DbOrTx } from "../../platform/db/db.js";
import { orgSso, orgSsoDomains, type SsoRole, ssoProviders } from "./sso.schema.js";

export interface SsoSettings {
  defaultRole: SsoRole;
}

export const DEFAULT_SSO_SETTINGS: SsoSettings = { defaultRole: "member" };

export async function getSettings(db: DbOrTx, orgId: string): Promise<SsoSettings | null> {
  const [row] = await db
    .select({ defaultRole: orgSso.defaultRole })
    .from(orgSso)
    .where(eq(orgSso.orgId, orgId))
    .limit(1);
  return row ?? null;
}

export async function putSettings(db: DbOrTx, orgId: string, s: SsoSettings): Promise<void> {
  await db
    .insert(orgSso)
    .values({ orgId, ...s })
    .onConflictDoUpdate({ target: orgSso.orgId, set: { ...s, updatedAt: sql`now()` } });
}

export async function deleteAll(db: DbOrTx, orgId: string): Promise<void> {
  await db.delete(ssoProviders).where(eq(ssoProviders.organizationId, orgId));
  await db.delete(orgSsoDomains).where(eq(orgSsoDomains.orgId, orgId));
  await db.delete(orgSso).where(eq(orgSso.orgId, orgId));
}

export type DomainRow = typeof orgSsoDomains.$inferSelect;

export async function listDomains(db: DbOrTx, orgId: string): Promise<DomainRow[]> {
  return db.select().from(orgSsoDomains).where(eq(orgSsoDomains.orgId, orgId)).orderBy(orgSsoDomains.domain);
}

export async function insertDomain(db: DbOrTx, orgId: string, domain: string, token: string): Promise<void> {
  await db.insert(orgSsoDomains).values({ orgId, domain, verificationToken: token }).onConflictDoNothing();
}

export async function deleteDomain(db: DbOrTx, orgId: string, domain: string): Promise<void> {
  await db.delete(orgSsoDomains).where(and(eq(orgSsoDomains.orgId, orgId), eq(orgSsoDomains.domain, domain)));
}

export async function markVerified(db: DbOrTx, orgId: string, domain: string): Promise<void> {
  await db
    .update(orgSsoDomains)
    .set({ verifiedAt: sql`now()` })
    .where(and(eq(orgSsoDomains.orgId, orgId), eq(orgSsoDomains.domain, domain)));
}

/** The organization that verified this email domain, if any. */
export async function orgOfVerifiedDomain(db: DbOrTx, domain: string): Promise<string | null> {
  const [row] = await db
    .select({ orgId: orgSsoDomains.orgId })
    .from(orgSsoDomains)
    .where(and(eq(orgSsoDomains.domain, domain.toLowerCase()), isNotNull(orgSsoDomains.verifiedAt)))
    .limit(1);
  return row?.orgId ?? null;
}

export type ProviderRow = typeof ssoProviders.$inferSelect;

export async function listProviders(db: DbOrTx, orgId: string): Promise<ProviderRow[]> {
  return db.select().from(ssoProviders).where(eq(ssoProviders.organizationId, orgId));
}

export async function deleteProvider(db: DbOrTx, orgId: string, providerId: string): Promise<void> {
  await db
    .delete(ssoProviders)
    .where(and(eq(ssoProviders.organizationId, orgId), eq(ssoProviders.providerId, providerId)));
}

/** Points every provider of the org at its verified domains (the plugin signs in only through a verified one). */
export async function syncProviderDomains(db: DbOrTx, orgId: string): Promise<void> {
  const domains = await listDomains(db, orgId);
  const verified = domains.filter((d) => d.verifiedAt).map((d) => d.domain);
  const all = domains.map((d) => d.domain);
  await db
    .update(ssoProviders)
    .set({ domain: (verified.length ? verified : all).join(","), domainVerified: verified.length > 0 })
    .where(eq(ssoProviders.organizationId, orgId));
}

export async function providerById(db: DbOrTx, providerId: string): Promise<ProviderRow | null> {
  const [row] = await db.select().from(ssoProviders).where(eq(ssoProviders.providerId, providerId)).limit(1);
  return row ?? null;
}

/** Gives a validated staging row its stable id and organization. */
export async function adoptStaged(db: DbOrTx, stagingId: string, providerId: string, orgId: string): Promise<void> {
  await db
    .update(ssoProviders)
    .set({ providerId, organizationId: orgId })
    .where(eq(ssoProviders.providerId, stagingId));
}

/** Drops a staging row (if not adopted) and the domain token the library filed for it (Tollgate verifies domains itself). */
export async function dropStaged(db: DbOrTx, stagingId: string, tokenIdentifier: string): Promise<void> {
  await db.delete(ssoProviders).where(eq(ssoProviders.providerId, stagingId));
  await db.delete(verifications).where(eq(verifications.identifier, tokenIdentifier));
}
