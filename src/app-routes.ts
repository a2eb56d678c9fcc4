/**
 * The management API's module routes, each registered with its service
 * (app.ts builds the services; auth, operations, the gateway front and the
 * dashboard are registered there, around these).
 */
import type { FastifyInstance } from "fastify";
import { registerAdminRoutes } from "./modules/admin/admin.routes.js";
import { registerAlertRoutes } from "./modules/alerts/alerts.routes.js";
import { registerApiTokenRoutes } from "./modules/api-tokens/api-tokens.routes.js";
import { registerAuditRoutes } from "./modules/audit/audit.routes.js";
import { registerBillingRoutes } from "./modules/billing/billing.routes.js";
import { registerInvitationRoutes } from "./modules/invitations/invitations.routes.js";
import { registerKeyRoutes } from "./modules/keys/keys.routes.js";
import { registerLogRoutes } from "./modules/logs/logs.routes.js";
import { registerMeRoutes } from "./modules/me/me.routes.js";
import { registerMemberRoutes } from "./modules/members/members.routes.js";
import { registerOnboardingRoutes } from "./modules/onboarding/onboarding.routes.js";
import { registerOrganizationRoutes } from "./modules/organizations/organizations.routes.js";
import { registerPaymentRoutes } from "./modules/payments/payments.routes.js";
import { registerPlaygroundRoutes } from "./modules/playground/playground.routes.js";
import { registerPolicyRoutes } from "./modules/policies/policies.routes.js";
import { registerProjectRoutes } from "./modules/projects/projects.routes.js";
import { registerProviderRoutes } from "./modules/providers/providers.routes.js";
import { registerSsoRoutes } from "./modules/sso/sso.routes.js";
import { registerScimRoutes } from "./modules/scim/scim.routes.js";
import { registerVirtualModelRoutes } from "./modules/virtual-models/virtual-models.routes.js";

type Deps<F extends (app: FastifyInstance, deps: never) => unknown> = Parameters<F>[1];

export type ApiServices = Deps<typeof registerAdminRoutes> &
  Deps<typeof registerMeRoutes> &
  Deps<typeof registerOrganizationRoutes> &
  Deps<typeof registerOnboardingRoutes> &
  Deps<typeof registerMemberRoutes> &
  Deps<typeof registerInvitationRoutes> &
  Deps<typeof registerAuditRoutes> &
  Deps<typeof registerApiTokenRoutes> &
  Deps<typeof registerProjectRoutes> &
  Deps<typeof registerKeyRoutes> &
  Deps<typeof registerPlaygroundRoutes> &
  Deps<typeof registerLogRoutes> &
  Deps<typeof registerProviderRoutes> &
  Deps<typeof registerVirtualModelRoutes> &
  Deps<typeof registerPolicyRoutes> &
  Deps<typeof registerBillingRoutes> &
  Deps<typeof registerAlertRoutes> &
  Deps<typeof registerPaymentRoutes> &
  Deps<typeof registerSsoRoutes> &
  Deps<typeof registerScimRoutes>;

export function registerApiRoutes(server: FastifyInstance, s: ApiServices): void {
  registerAdminRoutes(server, s);
  registerMeRoutes(server, s);
  registerOrganizationRoutes(server, s);
  registerOnboardingRoutes(server, s);
  registerMemberRoutes(server, s);
  registerInvitationRoutes(server, s);
  registerAuditRoutes(server, s);
  registerApiTokenRoutes(server, s);
  registerProjectRoutes(server, s);
  registerKeyRoutes(server, s);
  registerPlaygroundRoutes(server, s);
  registerLogRoutes(server, s);
  registerProviderRoutes(server, s);
  registerVirtualModelRoutes(server, s);
  registerPolicyRoutes(server, s);
  registerBillingRoutes(server, s);
  registerAlertRoutes(server, s);
  registerPaymentRoutes(server, s);
  registerSsoRoutes(server, s);
  registerScimRoutes(server, s);
}
