/**
 * The single sign-on settings as the server shows them (`GET /api/v1/orgs/<org>/sso`) and the owner's form
 * over them: how the form fills from the server's view, and the `PUT` body it sends back.
 *
 * Invariants:
 * - A save replaces everything: a connection switched off (or never given) is removed by the server.
 * - The OIDC client secret is write-only: the form starts empty; an empty secret is left out of the body, which
 *   keeps the stored one while issuer, client id and discovery URL are unchanged (else the server asks for it).
 * - The server removes a SAML connection the body leaves out; it returns the stored metadata, so the form starts
 *   with it and a save sends it back unchanged. A SAML connection without metadata is not saved (the server
 *   would refuse it).
 */
import { ApiError, formErrors } from "../api";

export interface SsoDomain {
  domain: string;
  verified: boolean;
  verifiedAt: string | null;
  /** The DNS TXT record that proves the domain. */
  txtRecord: { record: string; value: string };
}

export interface SsoSettings {
  domains: SsoDomain[];
  oidc: {
    providerId: string;
    issuer: string;
    clientId: string;
    discoveryUrl: string | null;
    redirectUri: string;
  } | null;
  saml: {
    providerId: string;
    idpEntityId: string | null;
    idpSsoUrl: string | null;
    /** The stored IdP metadata, sent back unchanged on a save that keeps the connection. */
    metadataXml: string | null;
    spEntityId: string;
    acsUrl: string;
    spMetadataUrl: string;
  } | null;
  defaultRole: "admin" | "member";
  requireSso: boolean;
}

export interface SsoFormValues {
  domains: string[];
  oidcOn: boolean;
  oidc: { issuer: string; clientId: string; clientSecret: string; discoveryUrl: string };
  samlOn: boolean;
  saml: { source: "xml" | "url"; metadataXml: string; metadataUrl: string };
  defaultRole: "admin" | "member";
  requireSso: boolean;
}

/** Where discovery is when none is given; the server reports it stored, the form shows only one that differs. */
const standardDiscovery = (issuer: string) => `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;

export function formFromSettings(s: SsoSettings): SsoFormValues {
  const discovery = s.oidc?.discoveryUrl ?? "";
  return {
    domains: s.domains.map((d) => d.domain),
    oidcOn: s.oidc !== null,
    oidc: {
      issuer: s.oidc?.issuer ?? "",
      clientId: s.oidc?.clientId ?? "",
      clientSecret: "",
      // Left empty when standard, so a changed issuer does not keep the old issuer's discovery URL.
      discoveryUrl: s.oidc && discovery === standardDiscovery(s.oidc.issuer) ? "" : discovery,
    },
    samlOn: s.saml !== null,
    saml: { source: "xml", metadataXml: s.saml?.metadataXml ?? "", metadataUrl: "" },
    defaultRole: s.defaultRole,
    requireSso: s.requireSso,
  };
}

/** Whether the settings hold anything to remove. */
export const isConfigured = (s: SsoSettings) => s.domains.length > 0 || s.oidc !== null || s.saml !== null;

/** The checks the server would make too, said before anything is sent (empty: nothing to say). */
export function validateSsoForm(v: SsoFormValues, saved: SsoSettings): Record<string, string> {
  const errors: Record<string, string> = {};
  if (v.domains.length === 0) errors.domains = "Add at least one email domain, such as acme.com.";
  if (v.oidcOn) {
    if (!v.oidc.issuer.trim()) errors["oidc.issuer"] = "Enter the identity provider's issuer URL.";
    if (!v.oidc.clientId.trim()) errors["oidc.clientId"] = "Enter the client id the identity provider gave you.";
    if (!saved.oidc && !v.oidc.clientSecret) errors["oidc.clientSecret"] = "Enter the client secret.";
  }
  if (v.samlOn) {
    const given = v.saml.source === "xml" ? v.saml.metadataXml.trim() : v.saml.metadataUrl.trim();
    const field = v.saml.source === "xml" ? "saml.metadataXml" : "saml.metadataUrl";
    if (!given) errors[field] = "Give the identity provider's SAML metadata.";
  }
  if (!v.oidcOn && !v.samlOn && v.requireSso) errors.requireSso = "Requiring SSO needs an OIDC or SAML connection.";
  return errors;
}

export function bodyFromForm(v: SsoFormValues) {
  const opt = (s: string) => (s.trim() ? s.trim() : undefined);
  return {
    domains: v.domains,
    oidc: v.oidcOn
      ? {
          issuer: v.oidc.issuer.trim(),
          clientId: v.oidc.clientId.trim(),
          clientSecret: v.oidc.clientSecret || undefined,
          discoveryUrl: opt(v.oidc.discoveryUrl),
        }
      : undefined,
    saml: v.samlOn
      ? v.saml.source === "xml"
        ? { metadataXml: v.saml.metadataXml.trim() }
        : { metadataUrl: v.saml.metadataUrl.trim() }
      : undefined,
    defaultRole: v.defaultRole,
    requireSso: v.requireSso,
  };
}

const FIELDS = [
  "domains",
  "oidc.issuer",
  "oidc.clientId",
  "oidc.clientSecret",
  "oidc.discoveryUrl",
  "saml.metadataXml",
  "saml.metadataUrl",
  "defaultRole",
  "requireSso",
] as const;

/** A refused save as inline field errors and a message for the whole form. */
export function ssoSaveErrors(err: unknown): { fields: Record<string, string>; general: string | null } {
  if (err instanceof ApiError && err.code === "SSO_CLIENT_SECRET_REQUIRED")
    return { fields: { "oidc.clientSecret": err.message }, general: null };
  return formErrors(err, FIELDS);
}
