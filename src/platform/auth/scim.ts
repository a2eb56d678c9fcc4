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
 *  - Identity: a new SCIM User gets a new account (no password; the person
 *    sets one by resetting it, or signs in through SSO) unless an account
 *    exists for the address; that one is linked (its name and email stay its
 *    own) only when its address is proven: verified by its owner, or at a
 *    domain the organization verified. Otherwise the plugin answers 409.
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
  /** Whether a new SCIM User of the org gets a new account, links an existing one, or is refused. */
  resolveAccount(orgId: string, email: string): Promise<AccountResolution>;
  /** Inside the plugin's transaction: membership follows `active`; "owner" when that would remove the owner. */
  reconcileMembership(tx: Tx, e: { orgId: string; userId: string; active: boolean }): Promise<"done" | "owner">;
}

const SCOPES: readonly SCIMScope[] = ["scim.users.read", "scim.users.write", "scim.groups.read", "scim.groups.write"];

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
