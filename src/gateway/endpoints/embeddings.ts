/**
 * Embeddings: scan the text inputs with the input policy (they leave for the
 * provider as much as chat does) → the response cache, when the project
 * keeps answers (keyed on the input as it would leave) → route (no
 * fallbacks: a chat fallback cannot embed) → reserve → call through the
 * executor (retries, circuit breakers, the total deadline, the client's
 * abort) → settle → keep the answer (when caching) → answer.
 */
import type { GatewayCall } from "../call.js";
import { cacheKey } from "../cache/cache.js";
import { invalidRequest } from "../errors.js";
import { embeddingsSchema } from "../inbound/openai-schema.js";
import { checkParams } from "../inbound/params.js";
import { embeddingsInputBound } from "../tokens.js";
import type { EmbeddingsRequest, EmbeddingsResponse } from "../types.js";
import { type CacheSlot, cacheSlot, findHit, keep, markHit } from "./cached.js";
import { oneTarget, type OneTargetRuntime, scanTexts } from "./one-target.js";

export async function serveEmbeddings(call: GatewayCall, rt: OneTargetRuntime): Promise<void> {
  const { x, log } = call;
  try {
    if (!x.body || typeof x.body !== "object" || Array.isArray(x.body))
      throw invalidRequest("invalid_body", "The body must be a JSON object.");
    // The official parameter types (openai-schema.ts); the body itself goes on, unknown parameters included.
    checkParams(embeddingsSchema, x.body);
    const body = x.body as EmbeddingsRequest;
    const input = await scanInput(call, body);
    call.logRequestBody();
    const sent = { ...body, input };
    const slot = cacheSlot(call, rt.cache, () => cacheKey(body.model, sent, "embeddings"));
    if (slot && (await answerFromCache(call, rt, slot, sent))) return;
    const admitted = await oneTarget(call, rt, body.model, "embeddings");
    await call.reserve({
      routes: admitted.routes,
      input: embeddingsInputBound(input),
      maxOutputTokens: null,
      choices: 1,
      noOutput: true,
    });
    const out = await rt.execute.call("embeddings", admitted.targets, sent, call.abort, log.attempts);
    call.usage = out.result.usage;
    call.costHeaders(await call.settle("ok"));
    x.header("x-tollgate-provider", out.target.provider.slug);
    const answer: EmbeddingsResponse = { ...out.result.response, model: out.target.name };
    // Kept before the answer goes out, so the client's next identical request finds it.
    if (slot)
      await keep(rt.cache!, call, slot, {
        kind: "embeddings",
        embeddings: answer,
        usage: call.usage,
        served: out.target.name,
      });
    x.sendJson(200, answer);
  } catch (err) {
    await call.fail(err);
  }
}

/** Answers from the cache when the answer is there and still servable; false on a miss. */
async function answerFromCache(
  call: GatewayCall,
  rt: OneTargetRuntime,
  slot: CacheSlot,
  sent: EmbeddingsRequest,
): Promise<boolean> {
  const hit = await findHit(call, rt.cache!, slot, await rt.providersFor(call.orgId), ["embeddings"]);
  if (!hit) return false;
  await call.reserve({
    routes: hit.routes,
    input: embeddingsInputBound(sent.input),
    maxOutputTokens: null,
    choices: 1,
    noOutput: true,
    pricePercent: rt.cache!.hitPricePercent,
  });
  markHit(call, hit.target, hit.entry);
  call.costHeaders(await call.settle("ok"));
  call.x.sendJson(200, { ...hit.entry.embeddings!, model: hit.target.name });
  return true;
}

/** The input policy over text inputs (token-id inputs carry no text a policy can read): the input to send. */
async function scanInput(call: GatewayCall, body: EmbeddingsRequest): Promise<EmbeddingsRequest["input"]> {
  const texts =
    typeof body.input === "string"
      ? [body.input]
      : (body.input as unknown[]).every((v) => typeof v === "string")
        ? (body.input as string[])
        : null;
  if (!texts || texts.length === 0) return body.input;
  const out = await scanTexts(call, body.model, texts);
  return typeof body.input === "string" ? out[0]! : out;
}
