/**
 * What an identity provider sends to Tollgate's SCIM endpoints: the user
 * payloads Okta and Entra ID post (their extra attributes included), PATCH
 * operations, and the request itself (bearer token, SCIM media type, no
 * cookie, no Origin) through the app's HTTP pipeline.
 */
import { createHash } from "node:crypto";
import type { TestApp } from "./app.js";

export const SCIM_BASE = "/api/auth/scim/v2";
export const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
export const SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/** A stable directory id per address, as the identity provider keeps one per person. */
const directoryId = (email: string) => createHash("sha256").update(email).digest("hex").slice(0, 20);

/** What Okta posts (and PUTs) for a user: its "password" and "groups" included. */
export const oktaUser = (email: string, active = true) => ({
  schemas: [SCIM_USER],
  userName: email,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ primary: true, value: email, type: "work" }],
  displayName: "Ada Lovelace",
  locale: "en-US",
  externalId: `00u${directoryId(email)}`,
  groups: [],
  password: "1mz050nq",
  active,
});

/** What Entra ID posts for a user: the enterprise extension, meta and roles. */
export const entraUser = (email: string) => ({
  schemas: [SCIM_USER, ENTERPRISE],
  externalId: directoryId(email),
  userName: email,
  active: true,
  emails: [{ primary: true, type: "work", value: email }],
  meta: { resourceType: "User" },
  name: { formatted: "Grace Hopper", familyName: "Hopper", givenName: "Grace" },
  roles: [],
  [ENTERPRISE]: { department: "Engineering" },
});

export const patchOp = (...Operations: unknown[]) => ({
  schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  Operations,
});

export type ScimMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One SCIM request as the identity provider sends it; the body parsed from the JSON answer. */
export async function scimRequest(t: TestApp, method: ScimMethod, path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = { accept: "application/scim+json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/scim+json; charset=utf-8";
  const res = await t.app.server.inject({
    method,
    url: `${SCIM_BASE}${path}`,
    headers,
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : null };
}
