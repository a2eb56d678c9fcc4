/**
 * Identity for the app: the auth library (accounts, sessions, two-factor,
 * single sign-on, SCIM) with what it needs from the organizations above it,
 * the sign-up policy, the SSO and SCIM services and the sign-in throttle.
 * Code the library calls inside its own transactions (the sign-up gate, the
 * SSO and SCIM hooks) gets `authDb`, which joins them
 * (platform/auth/auth-transaction.ts): on the embedded database a query on
 * the main handle would wait for the open transaction forever.
 */
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { createGuardedDispatcher } from "./gateway/net/ssrf.js";
import type { InvitationService } from "./modules/invitations/invitations.service.js";
import type { MemberService } from "./modules/members/members.service.js";
import { createScimProvisioning } from "./modules/scim/scim-provisioning.js";
import { scimPluginTables } from "./modules/scim/scim.schema.js";
import { createScimService } from "./modules/scim/scim.service.js";
import { createDomainResolver } from "./modules/sso/sso.dns.js";
import { createSamlMetadataSource } from "./modules/sso/sso.saml.js";
import { ssoProviders } from "./modules/sso/sso.schema.js";
import { createSsoService } from "./modules/sso/sso.service.js";
import { ssoIdentityHooks } from "./modules/sso/sso-membership.js";
import { type AuthHooks, createAuth } from "./platform/auth/auth.js";
import { createSignUpGate } from "./platform/auth/signup-policy.js";
import { createLoginThrottle } from "./platform/auth/throttle.js";
import type { Db } from "./platform/db/db.js";
import type { Mailer } from "./platform/mail.js";
import type { SecretBox } from "./platform/secretbox.js";

export function createIdentity(deps: {
  config: Config;
  db: Db;
  authDb: Db;
  mailer: Mailer;
  logger: Logger;
  box: SecretBox;
  invitations: InvitationService;
  members: MemberService;
  onUserCreated: AuthHooks["onUserCreated"];
}) {
  const { config, db, authDb } = deps;
  const signUpGate = createSignUpGate(config.accounts.signUp, {
    db: authDb,
    invitations: deps.invitations,
    operatorEmails: config.adminEmails,
  });
  const auth = createAuth(
    config,
    db,
    { onUserCreated: deps.onUserCreated },
    {
      mailer: deps.mailer,
      log: deps.logger,
      signUpGate,
      sso: ssoIdentityHooks(authDb),
      ssoProviderTable: ssoProviders,
      secretBox: deps.box,
      ssoTrustedOrigins: config.sso.trustedOrigins,
      scim: createScimProvisioning({ db: authDb, members: deps.members }),
      scimTables: scimPluginTables,
    },
  );
  // SAML metadata URLs are fetched through the SSRF guard; private hosts only when an operator trusts their origin.
  const ssoDispatcher = createGuardedDispatcher(
    config.sso.trustedOrigins.map((o) => new URL(o).hostname),
    { connectTimeoutMs: 5_000 },
  );
  const sso = createSsoService({
    db,
    auth,
    publicUrl: config.publicUrl,
    dns: createDomainResolver(config.sso.dnsServers),
    saml: createSamlMetadataSource(ssoDispatcher),
  });
  return {
    auth,
    signUpGate,
    sso,
    scim: createScimService({ db, publicUrl: config.publicUrl }),
    throttle: createLoginThrottle(db, config.loginThrottle),
    closeIdentity: () => ssoDispatcher.close(),
  };
}
