/**
 * Embeddings: scan the text inputs with the input policy (they leave for the
 * provider as much as chat does) → route (no fallbacks: a chat fallback
 * cannot embed) → reserve → call through the executor (retries, circuit
 * breakers, the total deadline, the client's abort) → settle → answer.
 */
import type { GatewayCall } from "../call.js";
import { invalidRequest } from "../errors.js";
import { embeddingsSchema } from "../inbound/openai-schema.js";
import { checkParams } from "../inbound/params.js";
import { embeddingsInputBound } from "../tokens.js";
import type { EmbeddingsRequest } from "../types.js";
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
    const admitted = await oneTarget(call, rt, body.model, "embeddings");
    await call.reserve({
      routes: admitted.routes,
      input: embeddingsInputBound(input),
      maxOutputTokens: null,
      choices: 1,
      noOutput: true,
    });
    const out = await rt.execute.call("embeddings", admitted.targets, { ...body, input }, call.abort, log.attempts);
    call.usage = out.result.usage;
    call.costHeaders(await call.settle("ok"));
    x.header("x-tollgate-provider", out.target.provider.slug);
    x.sendJson(200, { ...out.result.response, model: out.target.name });
  } catch (err) {
    await call.fail(err);
  }
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
