/**
 * Bridges Fastify to the auth library's Web-standard handler under /api/auth.
 * The three contract routes (sign-up, sign-in, sign-out) are declared with
 * schemas so they are validated and documented; every other auth route goes
 * through the catch-all. Library errors are re-shaped to the product's error
 * envelope; the client IP header is set from Fastify's trusted view.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { tooManyRequests } from "../errors.js";
import { type Auth, CLIENT_IP_HEADER } from "./auth.js";
import { toWebHeaders } from "./guard.js";
import type { LoginThrottle } from "./throttle.js";

const userOut = z.object({ id: z.string(), name: z.string(), email: z.string(), emailVerified: z.boolean() }).passthrough();

export function registerAuthRoutes(app: FastifyInstance, deps: { auth: Auth; throttle: LoginThrottle; publicUrl: string }) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function forward(request: FastifyRequest, reply: FastifyReply) {
    const headers = toWebHeaders(request);
    headers.delete(CLIENT_IP_HEADER);
    headers.set(CLIENT_IP_HEADER, request.ip);
    headers.delete("content-length");
    const hasBody = request.body !== undefined && request.body !== null && !["GET", "HEAD"].includes(request.method);
    if (hasBody) headers.set("content-type", "application/json");
    const res = await deps.auth.handler(
      new Request(new URL(request.url, deps.publicUrl), {
        method: request.method,
        headers,
        body: hasBody ? JSON.stringify(request.body) : undefined,
      }),
    );
    reply.status(res.status);
    for (const cookie of res.headers.getSetCookie()) reply.header("set-cookie", cookie);
    const type = res.headers.get("content-type");
    const location = res.headers.get("location");
    if (location) reply.header("location", location);
    const text = await res.text();
    if (res.status >= 400) {
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = text ? (JSON.parse(text) as typeof parsed) : {};
      } catch {
        /* not JSON: keep the status, generic message */
      }
      return reply.send({
        error: { code: parsed.code ?? "AUTH_ERROR", message: parsed.message ?? "Authentication failed.", requestId: request.id },
      });
    }
    if (type) reply.header("content-type", type);
    return reply.send(text);
  }

  r.post(
    "/api/auth/sign-up/email",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Create an account (and its personal organization); sets the session cookie",
        body: z.object({
          name: z.string().trim().min(1).max(100),
          email: z.email().max(254),
          password: z.string().min(8).max(128),
        }),
        response: { 200: z.object({ token: z.string().nullable(), user: userOut }) },
      },
    },
    forward,
  );

  r.post(
    "/api/auth/sign-in/email",
    {
      config: { access: { kind: "public" } },
      schema: {
        tags: ["auth"],
        summary: "Sign in with email and password; sets the session cookie",
        body: z.object({ email: z.string().max(254), password: z.string().max(128), rememberMe: z.boolean().optional() }),
        response: { 200: z.object({ token: z.string().nullable(), user: userOut }).passthrough() },
      },
    },
    async (request, reply) => {
      const { email } = request.body;
      const wait = await deps.throttle.blockedFor(email, request.ip);
      if (wait !== null) throw tooManyRequests("TOO_MANY_ATTEMPTS", `Too many failed sign-in attempts. Try again in ${wait} seconds.`, wait);
      await forward(request, reply);
      if (reply.statusCode === 401) await deps.throttle.recordFailure(email, request.ip);
      else if (reply.statusCode === 200) await deps.throttle.recordSuccess(email);
      return reply;
    },
  );

  r.post(
    "/api/auth/sign-out",
    {
      config: { access: { kind: "public" } },
      schema: { tags: ["auth"], summary: "End the current session", response: { 200: z.object({ success: z.boolean() }) } },
    },
    forward,
  );

  // Everything else the library offers (get-session, change-password, …).
  app.route({
    method: ["GET", "POST"],
    url: "/api/auth/*",
    config: { access: { kind: "public" } },
    schema: { hide: true },
    handler: forward,
  });
}
