/**
 * HTTP plumbing shared by every route: request ids, the one error mapping to
 * `{"error":{"code","message","requestId"}}`, route access declarations, and the
 * CSRF rule for cookie-authenticated state changes.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import proxyAddr from "@fastify/proxy-addr";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import {
  type ApiErrorCode,
  type AuthErrorCode,
  type CodeWithDefaultMessage,
  ERROR_CATALOGUE,
} from "./error-catalogue.js";
import { bearerOrgToken } from "./auth/org-token.js";
import { AppError, appError } from "./errors.js";
import type { Capability } from "./permissions.js";

/** What every route declares in `config.access`; a route without it fails the test suite. */
export type RouteAccess =
  | { kind: "public" }
  | { kind: "user" }
  | { kind: "org"; permission: Capability }
  /** The instance operators (TOLLGATE_ADMIN_EMAILS); everyone else, signed in or not, gets 404. */
  | { kind: "operator" }
  /** Gateway routes: a project API key, checked by the gateway itself (cookies never count). */
  | { kind: "apiKey" };

declare module "fastify" {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export interface ErrorBody {
  error: { code: ApiErrorCode | AuthErrorCode; message: string; requestId: string; details?: unknown };
}

export interface PublicError {
  status: number;
  code: ApiErrorCode;
  message: string;
  details?: unknown;
  headers?: Record<string, string>;
}

/** A catalogue code with its status and (unless given) its default message. */
function catalogued(code: CodeWithDefaultMessage, message?: string): PublicError {
  const spec = ERROR_CATALOGUE[code];
  return { status: spec.status, code, message: message ?? spec.message };
}

/** Maps any thrown value to a status and a public error; unknown errors never leak. */
export function toPublicError(err: unknown): PublicError {
  if (err instanceof AppError) {
    return { status: err.status, code: err.code, message: err.message, details: err.details, headers: err.headers };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const details = err.validation.map((v) => ({
      path: [
        err.validationContext,
        ...String(v.instancePath || "")
          .split("/")
          .filter(Boolean),
      ]
        .filter(Boolean)
        .join("."),
      message: v.message,
    }));
    const first = details[0];
    return {
      ...catalogued(
        "VALIDATION_ERROR",
        first ? `Invalid request: ${first.path ? `${first.path}: ` : ""}${first.message}` : undefined,
      ),
      details,
    };
  }
  const fe = err as Partial<FastifyError> & { type?: string };
  switch (fe.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return catalogued("UNSUPPORTED_MEDIA_TYPE");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return catalogued("PAYLOAD_TOO_LARGE");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return catalogued("INVALID_JSON", "The body is empty but Content-Type says JSON.");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return catalogued("INVALID_CONTENT_LENGTH");
  }
  if (fe.statusCode === 400 && (fe.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err instanceof SyntaxError)) {
    return catalogued("INVALID_JSON");
  }
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    // A relayed code: the framework's own 4xx status is kept.
    return { ...catalogued("BAD_REQUEST", fe.message), status: fe.statusCode };
  }
  return catalogued("INTERNAL_ERROR");
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = toPublicError(err);
  if (e.status >= 500) request.log.error({ err }, "request failed");
  if (e.headers) reply.headers(e.headers);
  const body: ErrorBody = { error: { code: e.code, message: e.message, requestId: request.id } };
  if (e.details !== undefined) body.error.details = e.details;
  return reply.status(e.status).send(body);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * CSRF for cookie sessions (the same rule the auth library applies to its own
 * routes): a state-changing request that carries cookies must come from a
 * trusted Origin (or Referer), and Fetch-Metadata must not say cross-site.
 * Non-browser clients simply send `Origin: <PUBLIC_URL>`. A call to an org route
 * with an organization API token (`Authorization: Bearer tg_org_…`) is not a
 * cookie call: the guard authenticates it by the token alone, and a browser
 * never adds that header cross-site, so the rule does not apply to it.
 */
export function installCsrfGuard(app: FastifyInstance, trustedOrigins: string[], exemptPrefixes: string[]): void {
  const trusted = new Set(trustedOrigins);
  // A synchronous hook (no promise per request: it runs on every gateway call too).
  app.addHook("onRequest", (request, _reply, done) => {
    if (
      SAFE_METHODS.has(request.method) ||
      !request.headers.cookie ||
      exemptPrefixes.some((p) => request.url.startsWith(p)) ||
      (request.routeOptions.config?.access?.kind === "org" && bearerOrgToken(request) !== null)
    )
      return done();
    const site = request.headers["sec-fetch-site"];
    if (site && site !== "same-origin" && site !== "none") {
      return done(appError("CSRF_REJECTED"));
    }
    const origin = request.headers.origin ?? refererOrigin(request.headers.referer);
    if (!origin || !trusted.has(origin)) {
      return done(
        appError(
          "CSRF_REJECTED",
          "Cookie-authenticated changes must come from the Tollgate dashboard: send an Origin header equal to the server's public URL.",
        ),
      );
    }
    done();
  });
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/** Which proxies in front of the server are trusted for the client IP (X-Forwarded-For). */
export type ProxyTrust = false | ((addr: string, hop: number) => boolean);

/**
 * TOLLGATE_TRUST_PROXY as one rule, for Fastify's `trustProxy` and the gateway's front alike:
 * `true` trusts every hop, a number the first N hops, a string the listed addresses/ranges.
 */
export function proxyTrust(setting: boolean | number | string): ProxyTrust {
  if (setting === false) return false;
  if (setting === true) return () => true;
  if (typeof setting === "number") return (_addr, hop) => hop < setting;
  return proxyAddr.compile(setting.split(",").map((s) => s.trim()));
}
