/**
 * SCIM 2.0 provisioning through the auth library's SCIM plugin. The plugin
 * serves the protocol under /api/auth/scim/v2 (Users, Groups, filters, PATCH,
 * ListResponse, the SCIM error schema, discovery); Tollgate decides three
 * things through `ScimHooks`, wired by the app from the SCIM module:
 *
 *  - Authentication: a bearer token is an organization's SCIM token. The
 *    organization is the plugin's connection and its provisioning domain
 *    (both its id), so one organization's token never reaches another's
 *    resources: the plugin scopes every resource by connection.
 *  - Identity: an organization provisions only addresses at the email
 *    domains it verified (the rule single sign-on follows); any other address
 *    is refused, and the plugin answers 409 with the reason as the SCIM
 *    error's detail. At a verified domain, a new SCIM User gets a new account
 *    (no password; the person sets one by resetting it, or signs in through
 *    SSO) unless an account exists for the address; that one is linked (its
 *    name and email stay its own).
 *  - Membership: inside the plugin's transaction (auth-transaction.ts), an
 *    active SCIM User is a member of the organization (joining with the
 *    default SSO role), an inactive or deleted one is not (removed, their keys
 *    and tokens in it revoked). The owner is never removed: the request is
 *    refused with 409 and nothing of it is kept.
 *
 * Groups are the plugin's: stored and served so an identity provider's group
 * push succeeds, but they grant no role (no role mapping is configured).
 */
import { type SCIMScope, scim } from "@better-auth/scim";
import { APIError } from "better-auth/api";
import type { Tx } from "../db/db.js";
import { currentAuthTransaction } from "./auth-transaction.js";

/** Where the plugin serves SCIM, under the auth library's base path. */
export const SCIM_PATH = "/api/auth/scim/v2";

/** Whether an auth endpoint context is a SCIM request (its route path, which the caller cannot choose). */
export const isScimRequest = (ctx: { path?: string } | null | undefined): boolean =>
  ctx?.path?.startsWith("/scim/v2/") === true;

export type AccountResolution =
  | { action: "create" }
  | { action: "link"; userId: string }
  | { action: "refuse"; reason: string };

/** What the SCIM plugin needs from the organizations above this layer (wired by the app). */
export interface ScimHooks {
  /** The organization whose SCIM token this is (and the token row's id), or null. */
  verifyToken(token: string): Promise<{ orgId: string; tokenId: string } | null>;
  /** Whether the address is at one of the organization's verified domains (the only ones SCIM manages). */
  allowsAddress(orgId: string, email: string): Promise<boolean>;
  /** Whether a new SCIM User of the org gets a new account, links an existing one, or is refused. */
  resolveAccount(orgId: string, email: string): Promise<AccountResolution>;
  /** Inside the plugin's transaction: membership follows `active`; "owner" when that would remove the owner. */
  reconcileMembership(tx: Tx, e: { orgId: string; userId: string; active: boolean }): Promise<"done" | "owner">;
}

const SCOPES: readonly SCIMScope[] = ["scim.users.read", "scim.users.write", "scim.groups.read", "scim.groups.write"];

/**
 * `databaseHooks.user.update.before`: a SCIM request that changes an account's email (PUT or PATCH of the
 * User) may set only an address at the requesting organization's verified domains, the rule that holds when
 * the account is created; anything else is refused (409) and the account keeps its address.
 */
export async function checkScimEmailChange(
  hooks: ScimHooks,
  ctx: { path?: string; headers?: Headers } | null | undefined,
  data: { email?: unknown },
): Promise<void> {
  if (!isScimRequest(ctx) || typeof data.email !== "string") return;
  const bearer = /^Bearer\s+(\S+)$/i.exec(ctx?.headers?.get("authorization") ?? "")?.[1];
  const org = bearer ? await hooks.verifyToken(bearer) : null;
  if (!org || !(await hooks.allowsAddress(org.orgId, data.email))) {
    throw new APIError("CONFLICT", {
      message: `The address ${data.email} is outside this organization's verified domains; SCIM cannot move an account there.`,
    });
  }
}

export function scimPlugin(hooks: ScimHooks) {
  return scim({
    connections: [],
    authentication: {
      async verifyBearerToken({ token }) {
        const found = await hooks.verifyToken(token);
        if (!found) return null;
        return {
          connection: { id: found.orgId, provisioningDomainId: found.orgId },
          credentialId: found.tokenId,
          scopes: SCOPES,
        };
      },
    },
    identity: {
      async resolveUser({ provisioningDomainId, resource }) {
        const resolved = await hooks.resolveAccount(provisioningDomainId, resource.primaryEmail);
        if (resolved.action === "refuse") throw new APIError("CONFLICT", { message: resolved.reason });
        if (resolved.action === "link") return { action: "link", userId: resolved.userId, profile: "preserve" };
        return { action: "create" };
      },
    },
    projection: {
      async reconcileUser({ provisioningDomainId, userId, active }) {
        const tx = currentAuthTransaction();
        if (!tx) throw new Error("SCIM membership reconciled outside the auth library's transaction");
        const outcome = await hooks.reconcileMembership(tx, { orgId: provisioningDomainId, userId, active });
        if (outcome === "owner") {
          throw new APIError("CONFLICT", {
            message:
              "This person owns the organization in Tollgate and cannot be deactivated or removed by SCIM; transfer ownership first.",
          });
        }
      },
    },
  });
}
