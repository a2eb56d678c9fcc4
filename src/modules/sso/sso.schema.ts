/**
 * Single sign-on per organization.
 *
 *  - `sso_providers` is the auth library's SSO plugin table (model
 *    `ssoProvider`): one row per identity provider connection, OIDC or SAML,
 *    with the plugin's JSON configuration. Tollgate writes it only through the
 *    SSO service, never through the plugin's own management endpoints (they
 *    are disabled). `organization_id` ties it to the organization; `domain`
 *    holds the organization's verified email domains (comma-separated), and
 *    `domain_verified` is true while at least one is verified: the plugin
 *    refuses sign-in through a provider without one. The OIDC client secret
 *    inside `oidc_config` is sealed at rest (sso-adapter.ts).
 *  - `org_sso` holds the role people joining through the IdP get. Whether
 *    members must sign in through it is `organizations.require_sso`, read
 *    with the membership on every request.
 *  - `org_sso_domains` holds the email domains the organization claims, each
 *    with its DNS verification token; a domain is verified for one
 *    organization at most (`org_sso_domains_verified_uq`).
 */
import { sql } from "drizzle-orm";
import { boolean, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { z } from "zod";
import { users } from "../../platform/auth/auth.schema.js";
import { DOMAIN_NAME } from "../../config.js";
import { organizations } from "../organizations/organizations.schema.js";

export const ssoProviders = pgTable("sso_providers", {
  id: text("id").primaryKey(),
  issuer: text("issuer").notNull(),
  oidcConfig: text("oidc_config"),
  samlConfig: text("saml_config"),
  /** Who configured it (the plugin's registrant); kept when they leave. */
  userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
  providerId: text("provider_id").notNull().unique(),
  /** Null only while a new configuration is being validated (sso.service.ts stages it, then adopts or drops it). */
  organizationId: text("organization_id").references(() => organizations.id, { onDelete: "cascade" }),
  domain: text("domain").notNull(),
  domainVerified: boolean("domain_verified").notNull().default(false),
});

export const SSO_ROLES = ["admin", "member"] as const;
export type SsoRole = (typeof SSO_ROLES)[number];

export const orgSso = pgTable("org_sso", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  defaultRole: text("default_role", { enum: SSO_ROLES }).notNull().default("member"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const orgSsoDomains = pgTable(
  "org_sso_domains",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    domain: text("domain").notNull(),
    verificationToken: text("verification_token").notNull(),
    verifiedAt: timestamp("verified_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.domain] }),
    uniqueIndex("org_sso_domains_verified_uq").on(t.domain).where(sql`verified_at is not null`),
  ],
);

// The API's shapes.

const domainField = z
  .string()
  .trim()
  .toLowerCase()
  .transform((d) => d.replace(/^@/, ""))
  .pipe(z.string().regex(DOMAIN_NAME, "Give an email domain such as acme.com."));

const httpUrl = z.url({ protocol: /^https?$/, error: "Give an http(s) URL." }).max(2048);

export const putSsoBody = z.strictObject({
  domains: z.array(domainField).min(1).max(20).describe("Email domains the organization's people sign in with."),
  oidc: z
    .strictObject({
      issuer: httpUrl.describe(
        "The IdP's issuer URL; discovery is read from <issuer>/.well-known/openid-configuration.",
      ),
      clientId: z.string().trim().min(1).max(500),
      clientSecret: z
        .string()
        .min(1)
        .max(2000)
        .optional()
        .describe("Write-only. Omit to keep the stored secret when issuer, client id and discovery URL are unchanged."),
      discoveryUrl: httpUrl.optional().describe("Only when the IdP's discovery document is not at the standard place."),
    })
    .optional(),
  saml: z
    .union([
      z.strictObject({
        metadataXml: z
          .string()
          .min(1)
          .max(100 * 1024)
          .describe("The IdP's SAML metadata XML."),
      }),
      z.strictObject({ metadataUrl: httpUrl.describe("Where the IdP publishes its metadata; fetched once, now.") }),
    ])
    .optional(),
  defaultRole: z
    .enum(SSO_ROLES)
    .default("member")
    .describe("The role people get when they first sign in through the IdP."),
  requireSso: z
    .boolean()
    .default(false)
    .describe("Members other than the owner must sign in through the IdP to reach this organization."),
});
export type PutSsoBody = z.infer<typeof putSsoBody>;

export const ssoResponse = z.object({
  domains: z.array(
    z.object({
      domain: z.string(),
      verified: z.boolean(),
      verifiedAt: z.string().nullable(),
      txtRecord: z
        .object({ record: z.string(), value: z.string() })
        .describe("The DNS TXT record that proves the domain."),
    }),
  ),
  oidc: z
    .object({
      providerId: z.string(),
      issuer: z.string(),
      clientId: z.string(),
      discoveryUrl: z.string().nullable(),
      redirectUri: z.string().describe("Register this redirect URI at the IdP."),
    })
    .nullable(),
  saml: z
    .object({
      providerId: z.string(),
      idpEntityId: z.string().nullable(),
      idpSsoUrl: z.string().nullable(),
      metadataXml: z
        .string()
        .nullable()
        .describe("The stored IdP metadata; send it back as saml.metadataXml to keep the connection on a save."),
      spEntityId: z.string().describe("The service provider entity id (audience) to configure at the IdP."),
      acsUrl: z.string().describe("The assertion consumer service URL to configure at the IdP."),
      spMetadataUrl: z.string(),
    })
    .nullable(),
  defaultRole: z.enum(SSO_ROLES),
  requireSso: z.boolean(),
});
