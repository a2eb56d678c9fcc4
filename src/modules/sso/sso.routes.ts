/** Single sign-on settings of an organization: thin routes over the SSO service. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { orgOf, toWebHeaders } from "../../platform/auth/guard.js";
import { orgParams } from "../../platform/routes.js";
import { putSsoBody, ssoResponse } from "./sso.schema.js";
import type { SsoService } from "./sso.service.js";

export function registerSsoRoutes(app: FastifyInstance, deps: { sso: SsoService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.sso;
  const tags = ["sso"];

  r.get(
    "/api/v1/orgs/:org/sso",
    {
      config: { access: { kind: "org", permission: ["sso", "read"] } },
      schema: {
        tags,
        summary:
          "The organization's single sign-on: domains (with the DNS record to publish), OIDC and SAML connections",
        params: orgParams,
        response: { 200: ssoResponse },
      },
    },
    async (req) => svc.get(orgOf(req)),
  );

  r.put(
    "/api/v1/orgs/:org/sso",
    {
      config: { access: { kind: "org", permission: ["sso", "manage"] } },
      schema: {
        tags,
        summary:
          "Configure single sign-on (owner): replaces domains and connections; a connection the IdP refuses changes nothing",
        params: orgParams,
        body: putSsoBody,
        response: { 200: ssoResponse },
      },
    },
    async (req) => svc.put(orgOf(req), toWebHeaders(req), req.body),
  );

  r.delete(
    "/api/v1/orgs/:org/sso",
    {
      config: { access: { kind: "org", permission: ["sso", "manage"] } },
      schema: {
        tags,
        summary: "Remove single sign-on (owner): connections and domains; members sign in with passwords again",
        params: orgParams,
      },
    },
    async (req, reply) => {
      await svc.remove(orgOf(req));
      return reply.status(204).send();
    },
  );

  r.post(
    "/api/v1/orgs/:org/sso/domains/:domain/verify",
    {
      config: { access: { kind: "org", permission: ["sso", "manage"] } },
      schema: {
        tags,
        summary: "Check the domain's DNS TXT record now; the domain is verified once it holds the organization's token",
        params: orgParams.extend({ domain: z.string().max(253) }),
        response: { 200: ssoResponse },
      },
    },
    async (req) => svc.verifyDomain(orgOf(req), req.params.domain.toLowerCase()),
  );
}
