/**
 * Single sign-on through the auth library's SSO plugin (OIDC and SAML 2.0).
 *
 *  - Providers belong to organizations and are written only by Tollgate's SSO
 *    service (the plugin's own management endpoints are disabled in auth.ts);
 *    sign-in (`POST /api/auth/sign-in/sso`), the OIDC callback and the SAML
 *    ACS are the plugin's.
 *  - Domain verification is on: the plugin signs in only through a provider
 *    whose domain is verified (the SSO service marks it once the DNS record
 *    is found), and links an existing account only when its email is at a
 *    verified domain of that provider.
 *  - A new account is created only for an address at one of the provider's
 *    domains (`allowNewAccount`): an identity provider cannot mint accounts
 *    for addresses its organization does not own.
 *  - After every SSO sign-in the person joins the provider's organization with
 *    its default role unless already a member (`joined`), and the session
 *    records the provider it came through (`sessions.sso_provider_id`), which
 *    is what an organization that requires SSO checks.
 *  - Identity providers on private networks (and the loopback ones of the
 *    tests) are reached only when their origin is in TOLLGATE_SSO_TRUSTED_ORIGINS:
 *    the plugin refuses private addresses otherwise.
 */
import { sso } from "@better-auth/sso";
import { APIError } from "better-auth/api";

/** What the SSO plugin needs from the organizations above this layer (wired by the app). */
export interface SsoHooks {
  /** Whether a new account for `email` may be created through `providerId` (its organization owns the domain). */
  allowNewAccount(providerId: string, email: string): Promise<boolean>;
  /** After a sign-in through the organization's provider: join it with the default role unless already a member. */
  joined(organizationId: string, user: { id: string; email: string }): Promise<void>;
}

/** The plugin's paths Tollgate serves itself (the SSO service) or does not offer. */
export const SSO_MANAGEMENT_PATHS = [
  "/sso/register",
  "/sso/providers",
  "/sso/get-provider",
  "/sso/update-provider",
  "/sso/delete-provider",
  "/sso/request-domain-verification",
  "/sso/verify-domain",
] as const;

/** The SAML assertion consumer service: the IdP's browser form posts here (cross-site, no cookie). */
export const SAML_ACS_PREFIX = "/api/auth/sso/saml2/sp/acs/";

const SSO_CALLBACK = /^\/sso\/(callback|saml2\/sp\/acs)\//;

export type SsoKind = "oidc" | "saml";

/** An organization's connections have stable ids, so the URLs configured at the IdP never change. */
export const orgProviderId = (orgId: string, kind: SsoKind) => `${orgId}-${kind}`;

/** Whether `providerId` (e.g. the one a session came through) is a connection of the organization. */
export const isOrgProvider = (orgId: string, providerId: string | null | undefined): boolean =>
  providerId === orgProviderId(orgId, "oidc") || providerId === orgProviderId(orgId, "saml");

/**
 * Whether this member must sign in through the organization's identity provider before reaching it: the
 * organization requires SSO, they are not the owner (the way back in when the IdP fails), and their session
 * did not come through one of its connections.
 */
export function ssoSignInNeeded(
  org: { requireSso?: boolean; role: string; orgId: string },
  actor: { viaSso?: string | null },
): boolean {
  return !!org.requireSso && org.role !== "owner" && !isOrgProvider(org.orgId, actor.viaSso);
}

/** The provider id of an SSO callback request, or null for any other auth route. */
export function ssoProviderOf(ctx: { path?: string; params?: unknown } | null | undefined): string | null {
  if (!ctx?.path || !SSO_CALLBACK.test(ctx.path)) return null;
  const id = (ctx.params as { providerId?: unknown } | undefined)?.providerId;
  return typeof id === "string" ? id : null;
}

/** Refuses, inside the user-create hook, a new account the provider's organization does not own the address of. */
export async function checkSsoNewAccount(
  hooks: SsoHooks,
  ctx: { path?: string; params?: unknown } | null | undefined,
  email: string,
): Promise<boolean> {
  const providerId = ssoProviderOf(ctx);
  if (!providerId) return false;
  if (!(await hooks.allowNewAccount(providerId, email))) {
    throw new APIError("FORBIDDEN", {
      code: "SSO_EMAIL_DOMAIN_NOT_ALLOWED",
      message: "This identity provider may sign in only addresses at its organization's verified domains.",
    });
  }
  return true;
}

/** The library files a domain token per provider under `_<prefix>-<providerId>`; Tollgate verifies domains itself. */
export const SSO_DOMAIN_TOKEN_PREFIX = "tollgate-sso";

export function ssoPlugin(hooks: SsoHooks) {
  return sso({
    domainVerification: { enabled: true, tokenPrefix: SSO_DOMAIN_TOKEN_PREFIX },
    // Tollgate's organizations are its own: joining is `hooks.joined`, not the plugin's member table.
    organizationProvisioning: { disabled: true },
    provisionUserOnEveryLogin: true,
    provisionUser: async ({ user, provider }) => {
      if (provider.organizationId) await hooks.joined(provider.organizationId, { id: user.id, email: user.email });
    },
    providersLimit: 1_000_000,
    saml: { requireTimestamps: true, algorithms: { onDeprecated: "reject" } },
  });
}
