/**
 * What a gateway request brings, read off the bare Node.js request: the API
 * key (`Authorization: Bearer` or `x-api-key`), the client IP (through the
 * trusted proxies only) and the body — JSON, or multipart/form-data for an
 * upload — refused by content type (415), by size (413 before buffering: by
 * Content-Length, else while reading), by encoding and syntax (400) before
 * any work.
 */
import type { IncomingMessage } from "node:http";
import { Busboy, type BusboyFileStream, type BusboyHeaders } from "@fastify/busboy";
import proxyAddr from "@fastify/proxy-addr";
import sjson from "secure-json-parse";
import type { ProxyTrust } from "../platform/http.js";
import { clientClosed, GatewayError, invalidRequest } from "./errors.js";
import type { Exchange } from "./exchange.js";
import type { Upload } from "./media.js";

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

function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

const isJson = (contentType: string) => mediaType(contentType) === "application/json";

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

/** A multipart/form-data body: its text fields in order and its one file. */
export interface Multipart {
  fields: Array<[string, string]>;
  file: Upload | null;
}

const multiparts = new WeakMap<Exchange, Multipart>();

/** The multipart body `readMultipart` read for this exchange (empty when none was). */
export function multipartOf(x: Exchange): Multipart {
  return multiparts.get(x) ?? { fields: [], file: null };
}

const MAX_FIELD_BYTES = 1_048_576;
const MAX_FIELDS = 64;

const badMultipart = (message: string) => invalidRequest("invalid_multipart", message);

/** What the log shows of an upload: never its bytes. */
export const uploadPlaceholder = (f: Upload) =>
  `[${f.contentType.startsWith("audio/") ? "audio" : "file"}: ${f.data.length} bytes, ${f.contentType}]`;

/**
 * Reads a multipart/form-data body (one file, text fields) with the same limits as JSON: 415 for
 * another content type, 413 past `bodyLimit` (by Content-Length before reading, else while reading),
 * 400 `invalid_multipart` for a body that cannot be parsed, a second file or too many or too long
 * fields. `x.body` becomes the fields as an object with the file as a placeholder (what the log and
 * the model lookup read); the parts themselves are `multipartOf(x)`.
 */
export async function readMultipart(x: Exchange, rules: BodyRules): Promise<void> {
  const type = x.req.headers["content-type"];
  if (type === undefined || mediaType(type) !== "multipart/form-data")
    throw new GatewayError("unsupported_media_type", "Send the body as multipart/form-data (the file and its fields).");
  const declared = x.req.headers["content-length"];
  if (declared !== undefined && Number(declared) > rules.bodyLimit) throw tooLarge(rules.bodyLimit);
  const parts = await parseMultipart(x.req, rules.bodyLimit);
  const body: Record<string, unknown> = {};
  let fieldBytes = 0;
  for (const [name, value] of parts.fields) {
    fieldBytes += Buffer.byteLength(value);
    if (name.endsWith("[]")) {
      const key = name.slice(0, -2);
      body[key] = [...((body[key] as string[] | undefined) ?? []), value];
    } else body[name] = value;
  }
  if (parts.file) body.file = uploadPlaceholder(parts.file);
  multiparts.set(x, parts);
  x.body = body;
  x.bodyText = JSON.stringify(body);
  // The token-rate estimate counts the text fields: an upload is counted at its usage after the call.
  x.bodyBytes = fieldBytes;
}

function parseMultipart(req: IncomingMessage, limit: number): Promise<Multipart> {
  return new Promise((resolve, reject) => {
    let bb: ReturnType<typeof Busboy>;
    try {
      bb = Busboy({
        headers: req.headers as BusboyHeaders,
        limits: { fileSize: limit, files: 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES },
      });
    } catch (err) {
      reject(badMultipart(`The multipart body cannot be read: ${(err as Error).message}.`));
      return;
    }
    const fields: Array<[string, string]> = [];
    let file: Upload | null = null;
    let settled = false;
    let ended = false;
    let size = 0;
    const done = (err: GatewayError | null) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      if (err) {
        req.unpipe(bb);
        reject(err);
      } else resolve({ fields, file });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge(limit));
    };
    const onEnd = () => {
      ended = true;
    };
    const onClose = () => {
      if (!ended) done(clientClosed());
    };
    bb.on("field", (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => {
      if (nameTruncated || valueTruncated) done(badMultipart(`The field "${name}" is too long.`));
      else fields.push([name, value]);
    });
    bb.on("file", (name: string, stream: BusboyFileStream, filename: string, _enc: string, mimeType: string) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("limit", () => done(tooLarge(limit)));
      stream.on("end", () => {
        if (name !== "file") done(badMultipart(`The upload must be the field "file", not "${name}".`));
        else if (!stream.truncated)
          file = {
            filename: filename || "upload",
            contentType: mimeType || "application/octet-stream",
            data: Buffer.concat(chunks),
          };
      });
    });
    bb.on("filesLimit", () => done(badMultipart("Send one file.")));
    bb.on("fieldsLimit", () => done(badMultipart(`Send at most ${MAX_FIELDS} fields.`)));
    bb.on("error", (err: unknown) =>
      done(badMultipart(`The multipart body cannot be read: ${(err as Error)?.message ?? "malformed"}.`)),
    );
    bb.on("finish", () => done(null));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
    req.pipe(bb);
  });
}
