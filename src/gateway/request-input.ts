/**
 * What a gateway request brings, read off the bare Node.js request: the API
 * key (`Authorization: Bearer` or `x-api-key`), the client IP (through the
 * trusted proxies only) and the JSON body — refused by content type (415), by
 * size (413 before buffering: by Content-Length, else while reading), by
 * encoding and syntax (400) before any work.
 */
import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import sjson from "secure-json-parse";
import type { ProxyTrust } from "../platform/http.js";
import { clientClosed, GatewayError, invalidRequest } from "./errors.js";
import type { Exchange } from "./exchange.js";

const BEARER = /^bearer\s+/i;

export function rawKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === "string" && BEARER.test(auth)) return auth.replace(BEARER, "").trim();
  const x = req.headers["x-api-key"];
  return typeof x === "string" ? x.trim() : undefined;
}

export function clientIp(trust: ProxyTrust): (req: IncomingMessage) => string {
  if (trust === false) return (req) => req.socket.remoteAddress ?? "";
  return (req) => {
    const addrs = proxyAddr.all(req, trust);
    return addrs[addrs.length - 1] ?? "";
  };
}

// The rest of the body is never read: the connection closes after the answer.
const tooLarge = (limit: number) =>
  new GatewayError(
    "request_too_large",
    `The request body is larger than the ${Math.round(limit / 1_048_576)} MiB this gateway accepts; send less (fewer or smaller images, a shorter history).`,
    { headers: { connection: "close" } },
  );

/** The body, refused past `limit` bytes (by Content-Length before reading, else while reading). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(clientClosed());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "application/json";
}

export interface BodyRules {
  bodyLimit: number;
  /** JSON nesting depth / string checks on the parsed body; throws a GatewayError. */
  checkBody?(value: unknown): void;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Reads, decodes, parses and checks the JSON body into `x.body` / `x.bodyText` (415/413/400 before any work). */
export async function readJson(x: Exchange, rules: BodyRules): Promise<void> {
  const type = x.req.headers["content-type"];
  if (type === undefined || !isJson(type)) {
    const empty = x.req.headers["transfer-encoding"] === undefined && (x.req.headers["content-length"] ?? "0") === "0";
    if (type === undefined && empty) return; // no body at all: the endpoint says what is missing
    throw new GatewayError("unsupported_media_type");
  }
  const buf = await readBody(x.req, rules.bodyLimit);
  x.bodyBytes = buf.length;
  if (buf.length === 0) throw invalidRequest("invalid_json", "The body is empty.");
  let text: string;
  try {
    text = decoder.decode(buf);
  } catch {
    throw invalidRequest("invalid_utf8", "The body is not valid UTF-8.");
  }
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
  } catch {
    throw invalidRequest(
      "invalid_json",
      "The body is not valid JSON (or uses the reserved keys __proto__/constructor).",
    );
  }
  rules.checkBody?.(value);
  x.body = value;
  x.bodyText = text;
}
