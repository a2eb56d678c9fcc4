/**
 * What the media endpoints (images, audio, moderations) share: the policy
 * scan of a transcript and the non-JSON answers (audio
 * bytes, plain text). Their routes are media-routes.ts's; their one target and
 * the scan of the text they carry one-target.ts's, as for embeddings.
 */
import type { GatewayCall } from "../call.js";
import type { Exchange } from "../exchange.js";
import { countTried } from "../request-log.js";

/** Runs the output policy over one text (a transcript): what the client may see (a block throws). */
export function scanOutput(call: GatewayCall, text: string): string {
  const scanner = call.hooks.outputScanner?.(call);
  if (!scanner) return text;
  return scanner.push(text, 0) + scanner.end(0);
}

/** The headers every media answer carries: what served it and how many upstream calls it took. */
export function servedHeaders(x: Exchange, call: GatewayCall): void {
  x.header("x-tollgate-provider", call.log.provider ?? "");
  x.header("x-tollgate-model", call.log.modelServed ?? "");
  x.header("x-tollgate-attempts", String(countTried(call.log.attempts)));
}

/** A non-JSON answer (audio bytes, plain text) with the headers set so far. */
export function sendBytes(x: Exchange, contentType: string, body: Buffer | string): void {
  x.headers["content-type"] = contentType;
  x.headers["content-length"] = String(Buffer.byteLength(body));
  x.res.writeHead(200, x.headers);
  x.res.end(body);
}
