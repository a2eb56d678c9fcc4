/**
 * Single sign-on per organization: the owner's configuration (email domains
 * with DNS verification, an OIDC and/or a SAML connection, the role people
 * join with, whether SSO is required). What the sign-in flow asks of the
 * organization is in sso-membership.ts.
 *
 * Invariants:
 *  - Each organization has at most one OIDC and one SAML connection, with
 *    stable provider ids (`<orgId>-oidc`, `<orgId>-saml`): the redirect URI
 *    and the SAML ACS URL configured at the IdP never change.
 *  - A new configuration is validated by the auth library in full (discovery,
 *    private-address refusal, SAML metadata and algorithms) by registering it
 *    under a staging id first; only once it is accepted does it replace the
 *    old row, in one transaction. A refused configuration changes nothing.
 *  - A provider signs people in only through verified domains; a domain is
 *    verified by a DNS TXT record and for one organization at most.
 *  - Requiring SSO needs a connection and a verified domain, so the owner
 *    cannot lock the members out by accident; the owner is never locked out.
 *  - The OIDC client secret is write-only: never returned, sealed at rest.
 */
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { recordAudit } from "../../platform/audit.js";
import type { Auth } from "../../platform/auth/auth.js";
import { orgProviderId, SSO_DOMAIN_TOKEN_PREFIX, type SsoKind } from "../../platform/auth/sso.js";
import type { OrgContext } from "../../platform/auth/guard.js";
import type { Db } from "../../platform/db/db.js";
import { appError } from "../../platform/errors.js";
import { assertCan } from "../../platform/permissions.js";
import { organizations } from "../organizations/organizations.schema.js";
import { withOrgLock } from "../organizations/org-lock.js";
import { type DomainResolver, describeDomains } from "./sso.dns.js";
import { idpMetadataSummary, type SamlMetadataSource } from "./sso.saml.js";
import * as repo from "./sso.repo.js";
import type { PutSsoBody } from "./sso.schema.js";

export interface SsoServiceDeps {
  db: Db;
  auth: Auth;
  publicUrl: string;
  dns: DomainResolver;
  saml: SamlMetadataSource;
}

type Kind = SsoKind;
const providerIdOf = orgProviderId;
const kindOf = (p: repo.ProviderRow): Kind => (p.samlConfig ? "saml" : "oidc");

interface OidcStored {
  issuer: string;
  clientId: string;
  discoveryEndpoint?: string;
}

export function createSsoService(deps: SsoServiceDeps) {
  const { db } = deps;
  const authBase = `${deps.publicUrl}/api/auth`;
  const spEntityId = (providerId: string) =>
    `${authBase}/sso/saml2/sp/metadata?providerId=${encodeURIComponent(providerId)}`;

  async function view(orgId: string) {
    const [settings, domains, providers, [org]] = await Promise.all([
      repo.getSettings(db, orgId),
      repo.listDomains(db, orgId),
      repo.listProviders(db, orgId),
      db.select({ requireSso: organizations.requireSso }).from(organizations).where(eq(organizations.id, orgId)),
    ]);
    const oidcRow = providers.find((p) => kindOf(p) === "oidc");
    const samlRow = providers.find((p) => kindOf(p) === "saml");
    const oidc = oidcRow ? (JSON.parse(oidcRow.oidcConfig ?? "{}") as OidcStored) : null;
    return {
      domains: describeDomains(domains),
      oidc:
        oidc && oidcRow
          ? {
              providerId: oidcRow.providerId,
              issuer: oidc.issuer,
              clientId: oidc.clientId,
              discoveryUrl: oidc.discoveryEndpoint ?? null,
              redirectUri: `${authBase}/sso/callback/${oidcRow.providerId}`,
            }
          : null,
      saml: samlRow
        ? {
            providerId: samlRow.providerId,
            ...idpMetadataSummary(samlRow.samlConfig),
            spEntityId: samlRow.issuer,
            acsUrl: `${authBase}/sso/saml2/sp/acs/${samlRow.providerId}`,
            spMetadataUrl: spEntityId(samlRow.providerId),
          }
        : null,
      defaultRole: (settings ?? repo.DEFAULT_SSO_SETTINGS).defaultRole,
      requireSso: org?.requireSso ?? false,
    };
  }

  /** Registers a connection under a staging id through the auth library (its validation in full); returns that id. */
  async function stage(ctx: OrgContext, headers: Headers, kind: Kind, body: PutSsoBody, domain: string) {
    const staging = `${providerIdOf(ctx.orgId, kind)}-staging-${randomBytes(6).toString("hex")}`;
    try {
      if (kind === "oidc" && body.oidc) {
        await deps.auth.api.registerSSOProvider({
          headers,
          body: {
            providerId: staging,
            issuer: body.oidc.issuer,
            domain,
            oidcConfig: {
              clientId: body.oidc.clientId,
              clientSecret: body.oidc.clientSecret,
              discoveryEndpoint: body.oidc.discoveryUrl,
              pkce: true,
              scopes: ["openid", "email", "profile"],
            },
          },
        });
      } else if (kind === "saml" && body.saml) {
        const metadata = await deps.saml.load(body.saml);
        await deps.auth.api.registerSSOProvider({
          headers,
          body: {
            providerId: staging,
            issuer: spEntityId(providerIdOf(ctx.orgId, "saml")),
            domain,
            samlConfig: {
              entryPoint: metadata.entryPoint,
              idpMetadata: { metadata: metadata.xml },
              wantAssertionsSigned: true,
              mapping: { email: "email", name: "name" },
            },
          },
        });
      }
    } catch (err) {
      if (err instanceof Error && "body" in err) {
        const message = (err as { body?: { message?: string } }).body?.message ?? err.message;
        throw appError("SSO_CONFIG_INVALID", `The ${kind.toUpperCase()} connection was refused: ${message}`);
      }
      throw err;
    }
    return staging;
  }

  /** Whether the stored OIDC connection is the one in the body (then a missing secret keeps the stored one). */
  function sameOidc(row: repo.ProviderRow | undefined, oidc: NonNullable<PutSsoBody["oidc"]>): boolean {
    if (!row?.oidcConfig) return false;
    const c = JSON.parse(row.oidcConfig) as OidcStored;
    const discovery = oidc.discoveryUrl ?? `${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    return c.issuer === oidc.issuer && c.clientId === oidc.clientId && c.discoveryEndpoint === discovery;
  }

  return {
    async get(ctx: OrgContext) {
      assertCan(ctx, "sso", "read");
      return view(ctx.orgId);
    },

    async put(ctx: OrgContext, headers: Headers, body: PutSsoBody) {
      assertCan(ctx, "sso", "manage");
      const domains = [...new Set(body.domains)];
      const existing = await repo.listProviders(db, ctx.orgId);
      const oidcRow = existing.find((p) => kindOf(p) === "oidc");
      const keepOidc = body.oidc && !body.oidc.clientSecret && sameOidc(oidcRow, body.oidc);
      if (body.oidc && !body.oidc.clientSecret && !keepOidc) throw appError("SSO_CLIENT_SECRET_REQUIRED");
      // Staged outside the transaction (the library writes through its own connection); cleaned up on any failure.
      const staged: Array<[Kind, string]> = [];
      try {
        if (body.oidc && !keepOidc) staged.push(["oidc", await stage(ctx, headers, "oidc", body, domains.join(","))]);
        if (body.saml) staged.push(["saml", await stage(ctx, headers, "saml", body, domains.join(","))]);
        await withOrgLock(db, ctx, "sso", "manage", async (tx, fresh) => {
          const claimed = await repo.listDomains(tx, fresh.orgId);
          const requireSso = body.requireSso ?? false;
          if (
            requireSso &&
            (!(body.oidc || body.saml) || !claimed.some((d) => d.verifiedAt && domains.includes(d.domain)))
          ) {
            throw appError("SSO_NOT_READY");
          }
          for (const d of claimed) if (!domains.includes(d.domain)) await repo.deleteDomain(tx, fresh.orgId, d.domain);
          for (const d of domains) await repo.insertDomain(tx, fresh.orgId, d, randomBytes(16).toString("hex"));
          for (const kind of ["oidc", "saml"] as const) {
            const wanted = kind === "oidc" ? body.oidc : body.saml;
            const stagedId = staged.find(([k]) => k === kind)?.[1];
            if (kind === "oidc" && keepOidc) continue;
            if (!wanted || stagedId) await repo.deleteProvider(tx, fresh.orgId, providerIdOf(fresh.orgId, kind));
            if (stagedId) await repo.adoptStaged(tx, stagedId, providerIdOf(fresh.orgId, kind), fresh.orgId);
          }
          await repo.syncProviderDomains(tx, fresh.orgId);
          await repo.putSettings(tx, fresh.orgId, { defaultRole: body.defaultRole ?? "member" });
          await tx
            .update(organizations)
            .set({ requireSso, updatedAt: sql`now()` })
            .where(eq(organizations.id, fresh.orgId));
          await recordAudit(tx, fresh, {
            orgId: fresh.orgId,
            action: "sso.configured",
            targetType: "organization",
            targetId: fresh.orgId,
            metadata: {
              domains,
              oidc: body.oidc ? { issuer: body.oidc.issuer, clientId: body.oidc.clientId } : null,
              saml: body.saml
                ? "metadataUrl" in body.saml
                  ? { metadataUrl: body.saml.metadataUrl }
                  : { metadataXml: true }
                : null,
              defaultRole: body.defaultRole ?? "member",
              requireSso,
            },
          });
        });
      } finally {
        for (const [, id] of staged) await repo.dropStaged(db, id, `_${SSO_DOMAIN_TOKEN_PREFIX}-${id}`);
      }
      return view(ctx.orgId);
    },

    async remove(ctx: OrgContext) {
      assertCan(ctx, "sso", "manage");
      await withOrgLock(db, ctx, "sso", "manage", async (tx, fresh) => {
        await repo.deleteAll(tx, fresh.orgId);
        await tx
          .update(organizations)
          .set({ requireSso: false, updatedAt: sql`now()` })
          .where(eq(organizations.id, fresh.orgId));
        await recordAudit(tx, fresh, {
          orgId: fresh.orgId,
          action: "sso.removed",
          targetType: "organization",
          targetId: fresh.orgId,
        });
      });
    },

    /** Looks up the domain's TXT record now; marks the domain verified when it carries the token. */
    async verifyDomain(ctx: OrgContext, domain: string) {
      assertCan(ctx, "sso", "manage");
      const row = (await repo.listDomains(db, ctx.orgId)).find((d) => d.domain === domain);
      if (!row) throw appError("SSO_DOMAIN_NOT_FOUND");
      if (!row.verifiedAt) {
        const { record, value } = describeDomains([row])[0]!.txtRecord;
        const found = await deps.dns.txt(record);
        if (!found.includes(value)) {
          throw appError(
            "SSO_DOMAIN_NOT_VERIFIED",
            found.length
              ? `The TXT record ${record} does not hold "${value}" yet (found ${found.length} other value${found.length > 1 ? "s" : ""}). DNS changes can take a while to appear.`
              : `No TXT record found at ${record}. Add one with the value "${value}"; DNS changes can take a while to appear.`,
          );
        }
        if ((await repo.orgOfVerifiedDomain(db, domain)) !== null) throw appError("SSO_DOMAIN_TAKEN");
        await withOrgLock(db, ctx, "sso", "manage", async (tx, fresh) => {
          await repo.markVerified(tx, fresh.orgId, domain);
          await repo.syncProviderDomains(tx, fresh.orgId);
          await recordAudit(tx, fresh, {
            orgId: fresh.orgId,
            action: "sso.domain_verified",
            targetType: "organization",
            targetId: fresh.orgId,
            metadata: { domain },
          });
        });
      }
      return view(ctx.orgId);
    },
  };
}

export type SsoService = ReturnType<typeof createSsoService>;
