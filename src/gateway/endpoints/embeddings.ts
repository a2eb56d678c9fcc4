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
import { admitTargets } from "../routing/admit.js";
import { resolveTargets } from "../routing/router.js";
import { embeddingsInputBound } from "../tokens.js";
import { contentText, type EmbeddingsRequest } from "../types.js";
import type { EndpointRuntime } from "./chat.js";

export async function serveEmbeddings(
  call: GatewayCall,
  rt: EndpointRuntime & { embeds(format: string): boolean },
): Promise<void> {
  const { x, log } = call;
  try {
    if (!x.body || typeof x.body !== "object" || Array.isArray(x.body))
      throw invalidRequest("invalid_body", "The body must be a JSON object.");
    // The official parameter types (openai-schema.ts); the body itself goes on, unknown parameters included.
    checkParams(embeddingsSchema, x.body);
    const body = x.body as EmbeddingsRequest;
    const input = await scanInput(call, body);
    call.logRequestBody();
    const [target] = resolveTargets(
      body.model,
      { defaultModel: call.caller.defaultModel, allowedModels: call.caller.allowedModels },
      await rt.providersFor(call.orgId),
    );
    if (!rt.embeds(target!.provider.format))
      throw invalidRequest(
        "embeddings_not_supported",
        `Provider "${target!.provider.slug}" does not offer embeddings.`,
        "model",
      );
    const admitted = admitTargets(call, [target!], call.hooks);
    await call.reserve({
      routes: admitted.routes,
      input: embeddingsInputBound(input),
      maxOutputTokens: null,
      choices: 1,
      noOutput: true,
    });
    log.provider = target!.provider.slug;
    log.modelServed = target!.name;
    const out = await rt.execute.embeddings(admitted.targets, { ...body, input }, call.abort, log.attempts);
    call.usage = out.result.usage;
    call.costHeaders(await call.settle("ok"));
    x.header("x-tollgate-provider", target!.provider.slug);
    x.sendJson(200, { ...out.result.response, model: target!.name });
  } catch (err) {
    await call.fail(err);
  }
}

/** Runs the input policy over text inputs as user messages; returns the input to send (rewritten if it redacted). */
async function scanInput(call: GatewayCall, body: EmbeddingsRequest): Promise<EmbeddingsRequest["input"]> {
  const texts =
    typeof body.input === "string"
      ? [body.input]
      : (body.input as unknown[]).every((v) => typeof v === "string")
        ? (body.input as string[])
        : null;
  // Token-id inputs carry no text a policy can read.
  const scan = call.hooks.scanInput;
  if (!scan || !texts || texts.length === 0) return body.input;
  const scanned = await scan(call, {
    model: body.model ?? "",
    messages: texts.map((content) => ({ role: "user" as const, content })),
  });
  if (!scanned) return body.input;
  const out = scanned.messages.map((m) => contentText((m as { content?: Parameters<typeof contentText>[0] }).content));
  return typeof body.input === "string" ? out[0]! : out;
}
