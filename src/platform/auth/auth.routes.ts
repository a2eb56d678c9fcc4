/**
 * Bridges Fastify to the auth library's Web-standard handler under /api/auth.
 * The three contract routes (sign-up, sign-in, sign-out) are declared with
 * schemas so they are validated and documented; every other auth route goes
 * through the catch-all. Library errors are re-shaped to the product's error
 * envelope; the client IP header is set from Fastify's trusted view.
 * Sign-up passes the instance's sign-up policy first. The account mail routes
 * (request a reset link, reset the password, resend the verification mail) are
 * declared too: the two that send mail are throttled per email and per IP, and
 * answer the same whether or not an account exists.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { type AuthErrorCode, ERROR_CATALOGUE } from "../error-catalogue.js";
import type { ErrorBody } from "../http.js";
import { SINGLE_LINE, SINGLE_LINE_MESSAGE } from "../routes.js";
import type { Auth } from "./auth.js";
import { toAuthRequest } from "./auth-request.js";
import { SAML_ACS_PREFIX } from "./sso.js";
import type { SignUpGate } from "./signup-policy.js";
import type { LoginThrottle, RequestThrottle } from "./throttle.js";

const userOut = z
  .object({ id: z.string(), name: z.string(), email: z.string(), emailVerified: z.boolean() })
  .passthrough();

export function registerAuthRoutes(
  app: FastifyInstance,
  deps: {
    auth: Auth;
    throttle: LoginThrottle;
    publicUrl: string;
    signUpGate: SignUpGate;
    mailThrottle: RequestThrottle;
  },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  /** Calls the auth library with the request (its body as JSON); the response is not sent yet (the throttle settles first). */
  async function callAuth(request: FastifyRequest): Promise<Response> {
    const hasBody = request.body !== undefined && request.body !== null && !["GET", "HEAD"].includes(request.method);
    const body = hasBody ? { text: JSON.stringify(request.body), contentType: "application/json" } : undefined;
    return deps.auth.handler(toAuthRequest(request, deps.publicUrl, body));
  }

  /** Sends the library's response in the product's shape (errors as the error envelope). */
  async function send(request: FastifyRequest, reply: FastifyReply, res: Response) {
    reply.status(res.status);
    for (const cookie of res.headers.getSetCookie()) reply.header("set-cookie", cookie);
    const type = res.headers.get("content-type");
    const location = res.headers.get("location");
    if (location) reply.header("location", location);
    const text = await res.text();
    if (res.status >= 400) {
      let parsed: { code?: AuthErrorCode; message?: string } = {};
      try {
        parsed = text ? (JSON.parse(text) as typeof parsed) : {};
      } catch {
        /* not JSON: keep the status, generic message */
      }
      // The library's status is kept (AUTH_ERROR is a relayed code).
      const body: ErrorBody = {
        error: {
          code: parsed.code ?? "AUTH_ERROR",
          message: parsed.message ?? ERROR_CATALOGUE.AUTH_ERROR.message,
          requestId: request.id,
        },
      };
      return reply.send(body);
    }
    if (type) reply.header("content-type", type);
    return reply.send(text);
  }

  const forward = async (request: FastifyRequest, reply: FastifyReply) => send(request, reply, await callAuth(request));

  r.post(
    "/api/auth/sign-up/email",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Create an account (and its personal organization); sets the session cookie",
        body: z.object({
          name: z.string().trim().min(1).max(100).regex(SINGLE_LINE, SINGLE_LINE_MESSAGE),
          email: z.email().max(254),
          password: z.string().min(8).max(128),
          /** The token of the invitation mailed to this address: the account starts verified. */
          invitationToken: z.string().max(200).optional(),
        }),
        response: { 200: z.object({ token: z.string().nullable(), user: userOut }) },
      },
    },
    async (request, reply) => {
      await deps.signUpGate.check(request.body.email);
      return forward(request, reply);
    },
  );

  const accepted = z.object({ status: z.boolean(), message: z.string().optional() });

  r.post(
    "/api/auth/request-password-reset",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Mail a password reset link (the same answer whether or not an account exists for the email)",
        body: z.object({ email: z.email().max(254) }),
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      await deps.mailThrottle.take("reset", request.body.email, request.ip);
      return forward(request, reply);
    },
  );

  r.post(
    "/api/auth/reset-password",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Set a new password with the token from the reset link (single use); ends every session",
        body: z.object({ token: z.string().min(1).max(200), newPassword: z.string().max(128) }),
        response: { 200: z.object({ status: z.boolean() }) },
      },
    },
    forward,
  );

  r.post(
    "/api/auth/send-verification-email",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Mail a new email verification link (the same answer whether or not an unverified account exists)",
        body: z.object({ email: z.email().max(254) }),
        response: { 200: z.object({ status: z.boolean() }) },
      },
    },
    async (request, reply) => {
      await deps.mailThrottle.take("verify", request.body.email, request.ip);
      return forward(request, reply);
    },
  );

  r.post(
    "/api/auth/sign-in/email",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary:
          "Sign in with email and password; sets the session cookie, or answers twoFactorRedirect when the account has two-factor authentication (then POST /api/auth/two-factor/verify-totp or verify-backup-code)",
        body: z.object({
          email: z.string().max(254),
          password: z.string().max(128),
          rememberMe: z.boolean().optional(),
        }),
        response: {
          200: z.union([
            z.object({ token: z.string().nullable(), user: userOut }).passthrough(),
            z.object({ twoFactorRedirect: z.literal(true), twoFactorMethods: z.array(z.string()) }),
          ]),
        },
      },
    },
    async (request, reply) =>
      send(request, reply, await deps.throttle.attempt(request.body.email, request.ip, () => callAuth(request))),
  );

  r.post(
    "/api/auth/sign-out",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "End the current session",
        response: { 200: z.object({ success: z.boolean() }) },
      },
    },
    forward,
  );

  // The SAML assertion consumer service: the IdP's page posts an HTML form (urlencoded) here, from its own
  // site; the signed assertion, not a cookie, is the credential (CSRF exempt in app.ts). Its own scope, so the
  // form parser applies to this route only.
  app.register(async (scope) => {
    scope.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string", bodyLimit: 512 * 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.withTypeProvider<ZodTypeProvider>().post(
      `${SAML_ACS_PREFIX}:providerId`,
      {
        config: { access: { kind: "public" } },
        schema: {
          tags: ["auth"],
          summary:
            "SAML assertion consumer service (the IdP posts the signed response here); redirects to the dashboard",
          params: z.object({ providerId: z.string().max(200) }),
          body: z.object({ SAMLResponse: z.string().max(400_000), RelayState: z.string().max(2_000).optional() }),
        },
      },
      forward,
    );
  });

  // Everything else the library offers (get-session, change-password, …).
  app.route({
    method: ["GET", "POST"],
    url: "/api/auth/*",
    config: { access: { kind: "public" } },
    schema: { hide: true },
    handler: forward,
  });
}
