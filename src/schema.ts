/** Every table of the product, for Drizzle and drizzle-kit (one schema, one migration history). */
export * from "./platform/auth/auth.schema.js";
export { organizations, userState, members } from "./modules/organizations/organizations.schema.js";
export { invitations } from "./modules/invitations/invitations.schema.js";
export { auditLog } from "./platform/audit.schema.js";
export { projects, projectMembers } from "./modules/projects/projects.schema.js";
export { apiKeys } from "./modules/keys/keys.schema.js";
export { orgApiTokens } from "./modules/api-tokens/api-tokens.schema.js";
export { requestLogs, jobLeases } from "./modules/logs/logs.schema.js";
export { customProviders } from "./modules/providers/providers.schema.js";
export { virtualModels } from "./modules/virtual-models/virtual-models.schema.js";
export { responseCache } from "./modules/cache/cache.schema.js";
export { orgSecurityPolicies, projectSecurityPolicies, securityIncidents } from "./modules/policies/policies.schema.js";
export {
  billingAccounts,
  ledgerEntries,
  billingUsageHourly,
  billingUsageDimsHourly,
  billingUsageBatches,
  billingSettings,
  billingAlertSubscribers,
  billingEventsFired,
  billingCustomers,
  billingPayments,
  stripeEvents,
} from "./modules/billing/billing.schema.js";
export { storedResponses } from "./modules/responses/responses.schema.js";
export { disabledOrganizations } from "./modules/admin/admin.schema.js";
export { ssoProviders, orgSso, orgSsoDomains } from "./modules/sso/sso.schema.js";
export {
  scimConnectionBindings,
  scimIdentityTombstones,
  scimSubjects,
  scimUsers,
  scimProjectionGrants,
  scimGroups,
  scimGroupMembers,
} from "./modules/scim/scim.schema.js";
export { orgScimTokens } from "./modules/scim/scim-token.schema.js";
export { logDestinations } from "./modules/log-destinations/log-destinations.schema.js";
export { playgroundKeys } from "./modules/playground/playground.schema.js";
export { onboardingDismissals } from "./modules/onboarding/onboarding.schema.js";
