/**
 * A Fastify request as the Web-standard Request the auth library handles.
 * The URL is resolved against PUBLIC_URL and must not change under that
 * normalization: the URL parser resolves "." and ".." segments (percent-encoded
 * too), so such a path could reach a declared auth route (sign-in and its
 * throttle) through a catch-all. The client IP header is set from Fastify's
 * trusted view of the client, replacing any value the client sent.
 */
import type { FastifyRequest } from "fastify";
import { appError } from "../errors.js";
import { CLIENT_IP_HEADER } from "./auth.js";
import { toWebHeaders } from "./guard.js";

export function toAuthRequest(
  request: FastifyRequest,
  publicUrl: string,
  body: { text: string; contentType?: string } | undefined,
): Request {
  const url = new URL(request.url, publicUrl);
  if (url.pathname !== request.url.split("?")[0]) {
    throw appError("ROUTE_NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}.`);
  }
  const headers = toWebHeaders(request);
  headers.delete(CLIENT_IP_HEADER);
  headers.set(CLIENT_IP_HEADER, request.ip);
  headers.delete("content-length");
  if (body?.contentType) headers.set("content-type", body.contentType);
  return new Request(url, { method: request.method, headers, body: body?.text });
}
