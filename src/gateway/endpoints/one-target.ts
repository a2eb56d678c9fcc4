/**
 * The calls served by one target (embeddings, images, audio, moderations —
 * no fallbacks: a chat fallback cannot embed, draw or speak): the target
 * resolved, able to do the call (else 400 `<capability>_not_supported`),
 * admitted by billing; and the input policy over the texts the request
 * carries.
 */
import type { GatewayCall } from "../call.js";
import { invalidRequest } from "../errors.js";
import type { RouteInfo } from "../hooks.js";
import type { Capability } from "../providers/types.js";
import { admitTargets } from "../routing/admit.js";
import { type ResolvedTarget, resolveTargets } from "../routing/router.js";
import { contentText } from "../types.js";
import type { EndpointRuntime } from "./chat.js";

export interface OneTargetRuntime extends EndpointRuntime {
  /** Whether adapters of this wire format offer the capability. */
  offers(format: string, capability: Capability): boolean;
}

const WHAT: Record<Capability, string> = {
  embeddings: "embeddings",
  images: "image generation",
  transcribe: "transcriptions",
  speech: "speech",
  moderate: "moderations",
};

const CODES = {
  embeddings: "embeddings_not_supported",
  images: "images_not_supported",
  transcribe: "transcriptions_not_supported",
  speech: "speech_not_supported",
  moderate: "moderations_not_supported",
} as const;

/** The call's one target: resolved, able to do `capability` (else 400), admitted by billing; logged as served. */
export async function oneTarget(
  call: GatewayCall,
  rt: OneTargetRuntime,
  model: unknown,
  capability: Capability,
): Promise<{ targets: ResolvedTarget[]; routes: RouteInfo[] }> {
  const [target] = resolveTargets(
    typeof model === "string" ? model : undefined,
    call.caller,
    await rt.providersFor(call.orgId),
    await rt.routingExtras(call.orgId),
  );
  if (!rt.offers(target!.provider.format, capability))
    throw invalidRequest(
      CODES[capability],
      `Provider "${target!.provider.slug}" does not offer ${WHAT[capability]}.`,
      "model",
    );
  const admitted = admitTargets(call, [target!], call.hooks);
  call.log.provider = target!.provider.slug;
  call.log.modelServed = target!.name;
  return admitted;
}

/**
 * Runs the input policy over texts a request carries (each as a user message); returns them as they may
 * leave. Called even with none: the policy's scan also prepares the output scan and the log masking.
 */
export async function scanTexts(call: GatewayCall, model: unknown, texts: string[]): Promise<string[]> {
  const scan = call.hooks.scanInput;
  if (!scan) return texts;
  const scanned = await scan(call, {
    model: typeof model === "string" ? model : "",
    messages: texts.map((content) => ({ role: "user" as const, content })),
  });
  if (!scanned) return texts;
  return scanned.messages.map((m) => contentText((m as { content?: Parameters<typeof contentText>[0] }).content));
}
