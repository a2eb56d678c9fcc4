/**
 * One signed POST to the Bedrock runtime, through the shared transport
 * (postJson: timeouts, abort, backpressure). Invariants:
 * - The body is serialized once and that Buffer is both signed and sent.
 * - A non-2xx answer is classified by Bedrock's rules (errors.ts), which need
 *   the `x-amzn-errortype` header and the error body: a small interceptor on
 *   the call's dispatcher (undici's compose) keeps them for non-2xx answers
 *   only (the body up to 64 KiB); 2xx bodies pass through untouched.
 * - Every UpstreamError that leaves here is scrubbed of the secret key and
 *   the session token.
 */
import type { Dispatcher } from "undici";
import { postJson } from "../http/index.js";
import { UpstreamError, type CallOptions } from "../types.js";
import type { UpstreamCall } from "../http/transport.js";
import { bedrockHttpError, scrubbed } from "./errors.js";
import { secretsOf, type BedrockSettings } from "./settings.js";
import { signRequest } from "./signing.js";

const MAX_ERROR_BODY = 64 * 1024;

interface ErrorAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer[];
  size: number;
}

/** The dispatcher with an interceptor that keeps a non-2xx answer's headers and body. */
function keepingErrors(dispatcher: Dispatcher): { dispatcher: Dispatcher; answer: () => ErrorAnswer | undefined } {
  let answer: ErrorAnswer | undefined;
  const composed = dispatcher.compose(
    (dispatch) => (options, handler) =>
      dispatch(options, {
        onRequestStart: (c, ctx) => handler.onRequestStart?.(c, ctx),
        onRequestUpgrade: (c, s, h, socket) => handler.onRequestUpgrade?.(c, s, h, socket),
        onResponseStart(c, status, headers, message) {
          if (status < 200 || status >= 300)
            answer = { status, headers: headers as ErrorAnswer["headers"], body: [], size: 0 };
          return handler.onResponseStart?.(c, status, headers, message);
        },
        onResponseData(c, chunk) {
          if (answer && answer.size < MAX_ERROR_BODY) {
            answer.body.push(chunk);
            answer.size += chunk.length;
          }
          return handler.onResponseData?.(c, chunk);
        },
        onResponseEnd: (c, trailers) => handler.onResponseEnd?.(c, trailers),
        onResponseError: (c, err) => handler.onResponseError?.(c, err),
      }),
  );
  return { dispatcher: composed, answer: () => answer };
}

export interface BedrockPost {
  url: string;
  body: unknown;
  /** Extra headers (e.g. `accept`), signed with the rest. */
  headers?: Record<string, string>;
  settings: BedrockSettings;
  opts: CallOptions;
  label: string;
  now?: () => Date;
}

/** Signs and sends; resolves once a 2xx status line arrived (postJson's contract). */
export async function bedrockPost(p: BedrockPost): Promise<UpstreamCall> {
  const secrets = secretsOf(p.settings);
  const body = Buffer.from(JSON.stringify(p.body));
  const headers = await signRequest({
    url: p.url,
    headers: { "content-type": "application/json", accept: "application/json", ...p.headers },
    body,
    settings: p.settings,
    ...(p.now ? { now: p.now() } : {}),
  });
  const keep = keepingErrors(p.opts.dispatcher);
  try {
    return await postJson({
      url: p.url,
      headers,
      body,
      opts: { ...p.opts, dispatcher: keep.dispatcher },
      apiKey: p.settings.secretAccessKey,
      label: p.label,
    });
  } catch (err) {
    const a = keep.answer();
    if (err instanceof UpstreamError && err.kind === "http" && a) {
      throw bedrockHttpError(p.label, a.status, a.headers, Buffer.concat(a.body).toString("utf8"), secrets);
    }
    throw err instanceof UpstreamError ? scrubbed(err, secrets) : err;
  }
}
