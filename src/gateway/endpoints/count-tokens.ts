/**
 * POST /v1/messages/count_tokens — Anthropic's token counting, for every
 * provider a project can route to: the body is a Messages request without
 * `max_tokens`; the answer is `{"input_tokens": N}`.
 *
 * The model resolves as a messages call's does (default model, allowed
 * models); only the first target is asked. A provider with a counting
 * endpoint of its own (Anthropic, Gemini, custom providers of those formats)
 * counts exactly — the request passes the project's security policy first,
 * since it leaves for the provider; the others (OpenAI and OpenAI-compatible,
 * mock) are counted by the tokenizer (count-tokens.ts), an estimate.
 * `x-tollgate-token-count` says which (`exact` | `estimated`).
 *
 * Counting is free: no credit hold, no charge, no request-log row; the
 * request-rate limits apply (the front checks them before the body is read).
 */
import { CallAbort, type CallSignal } from "../abort.js";
import { type Caller, SHUTTING_DOWN } from "../call.js";
import { type ProviderEntry, speaksNatively } from "../catalog.js";
import { countWithTokenizer } from "../count-tokens.js";
import { fromUpstream, invalidRequest, shuttingDown } from "../errors.js";
import type { Exchange } from "../exchange.js";
import type { AnthropicRequest } from "../formats/anthropic-wire.js";
import type { GatewayHooks } from "../hooks.js";
import { messagesSchema } from "../inbound/anthropic-schema.js";
import { createAnthropicNative } from "../inbound/anthropic-native.js";
import { checkParams } from "../inbound/params.js";
import { type NativeRequest, UpstreamError } from "../providers/types.js";
import { type ResolvedTarget, type RoutingExtras, resolveTargets } from "../routing/router.js";
import type { ChatRequest } from "../types.js";

/** The Messages parameters minus `max_tokens`: what a counting request is checked against. */
export const countTokensSchema = messagesSchema.omit({ max_tokens: true });

export interface CountTokensRuntime {
  providersFor(orgId: string): Promise<Map<string, ProviderEntry>>;
  routingExtras(orgId: string): Promise<RoutingExtras>;
  hooks: GatewayHooks;
  /** Calls running now: the shutdown deadline aborts them. */
  inFlight: Set<CallAbort>;
  /** The provider's own counting of the target (exact), or null when its adapter has no counting endpoint. */
  upstreamCount(
    target: ResolvedTarget,
  ): ((req: ChatRequest, native: NativeRequest | undefined, signal: CallSignal) => Promise<number>) | null;
}

/** Counting requests opened like a Messages request to an Anthropic upstream (the body minus `max_tokens`). */
const counting = createAnthropicNative((body) => {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalidRequest("invalid_body", "The body must be a JSON object.");
  checkParams(countTokensSchema, body);
  return body as AnthropicRequest;
});

export async function serveCountTokens(x: Exchange, caller: Caller, rt: CountTokensRuntime): Promise<void> {
  const opening = counting.open(x.body, x.req.headers);
  const [target] = resolveTargets(
    opening.model,
    caller,
    await rt.providersFor(caller.orgId),
    await rt.routingExtras(caller.orgId),
  );
  const t = target!;
  x.header("x-tollgate-provider", t.provider.slug);
  x.header("x-tollgate-model", t.name);

  const upstream = rt.upstreamCount(t);
  if (!upstream) {
    const counted = await countWithTokenizer(opening.translated(), t.model);
    x.header("x-tollgate-token-count", "estimated");
    x.header(
      "x-tollgate-tokenizer",
      counted.known ? counted.encoding : `${counted.encoding} (default: model not known)`,
    );
    x.sendJson(200, { input_tokens: counted.tokens });
    return;
  }

  // The messages leave for the provider: the project's policy sees them first (a block refuses, a
  // redaction is sent); an Anthropic-format provider gets the request as written, the others its translation.
  const scanned =
    (await rt.hooks.scanInput?.(
      {
        requestId: x.id,
        orgId: caller.orgId,
        projectId: caller.projectId,
        keyId: caller.keyId,
        environment: caller.environment,
        endpoint: "messages",
        logBodies: false,
      },
      opening.view,
    )) ?? opening.view;
  const sent = opening.finish(scanned);
  const native = speaksNatively(t.provider, counting.api) ? sent.native : undefined;
  const abort = new CallAbort();
  const onClose = () => {
    if (!x.res.writableFinished) abort.abort();
  };
  x.res.on("close", onClose);
  rt.inFlight.add(abort);
  let tokens: number;
  try {
    tokens = await upstream({ ...sent.canonical, model: t.model }, native, abort);
  } catch (err) {
    if (abort.reason === SHUTTING_DOWN) throw shuttingDown();
    throw err instanceof UpstreamError ? fromUpstream(err, t.provider.slug) : err;
  } finally {
    x.res.off("close", onClose);
    rt.inFlight.delete(abort);
  }
  x.header("x-tollgate-token-count", "exact");
  x.sendJson(200, { input_tokens: tokens });
}
