/**
 * What the media endpoints (images, audio, moderations) share: their routes
 * in the front's table, the one target of a call (resolved, able to do it,
 * admitted by billing — no fallbacks: a chat fallback cannot draw or speak),
 * the policy scans of the text a request carries and of a transcript, and
 * the non-JSON answers (audio bytes, plain text).
 */
import type { GatewayCall } from "../call.js";
import { invalidRequest, openaiErrorBody } from "../errors.js";
import type { Exchange } from "../exchange.js";
import type { Route } from "../front-routes.js";
import type { RouteInfo } from "../hooks.js";
import type { Capability } from "../providers/types.js";
import { admitTargets } from "../routing/admit.js";
import { type ResolvedTarget, resolveTargets } from "../routing/router.js";
import { contentText } from "../types.js";
import { serveSpeech, serveTranscription } from "./audio.js";
import type { EndpointRuntime } from "./chat.js";
import { serveImages } from "./images.js";
import { serveModerations } from "./moderations.js";

export interface MediaRuntime extends EndpointRuntime {
  /** Whether adapters of this wire format offer the capability. */
  offers(format: string, capability: Capability): boolean;
}

/** The routes of the media endpoints (metered calls, OpenAI's shapes). */
export function mediaRoutes(rt: MediaRuntime): Route[] {
  return [
    {
      kind: "call",
      method: "POST",
      path: "/v1/images/generations",
      doc: { summary: "Generate images from a prompt", tag: "OpenAI API" },
      endpoint: "images",
      errorBody: openaiErrorBody,
      serve: (c) => serveImages(c, rt),
    },
    {
      kind: "call",
      method: "POST",
      path: "/v1/audio/transcriptions",
      doc: {
        summary: "Transcribe an audio file (multipart/form-data upload)",
        description:
          "The body is multipart/form-data (not JSON): the audio as the field `file`, with `model`, `response_format` (json, text, verbose_json, srt, vtt), `language`, `prompt`… as text fields.",
        tag: "OpenAI API",
      },
      endpoint: "audio_transcriptions",
      body: "multipart",
      errorBody: openaiErrorBody,
      serve: (c) => serveTranscription(c, rt),
    },
    {
      kind: "call",
      method: "POST",
      path: "/v1/audio/speech",
      doc: {
        summary: "Generate speech audio from text",
        description: "Answers the audio bytes, with the content type of `response_format` (audio/mpeg by default).",
        tag: "OpenAI API",
      },
      endpoint: "audio_speech",
      errorBody: openaiErrorBody,
      serve: (c) => serveSpeech(c, rt),
    },
    {
      kind: "call",
      method: "POST",
      path: "/v1/moderations",
      doc: { summary: "Classify text (and images) for policy violations", tag: "OpenAI API" },
      endpoint: "moderations",
      errorBody: openaiErrorBody,
      serve: (c) => serveModerations(c, rt),
    },
  ];
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
export async function mediaTarget(
  call: GatewayCall,
  rt: MediaRuntime,
  model: unknown,
  capability: Capability,
): Promise<{ targets: ResolvedTarget[]; routes: RouteInfo[] }> {
  const [target] = resolveTargets(
    typeof model === "string" ? model : undefined,
    { defaultModel: call.caller.defaultModel, allowedModels: call.caller.allowedModels },
    await rt.providersFor(call.orgId),
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
  x.header("x-tollgate-attempts", String(call.log.attempts.filter((a) => a.outcome !== "skipped_circuit_open").length));
}

/** A non-JSON answer (audio bytes, plain text) with the headers set so far. */
export function sendBytes(x: Exchange, contentType: string, body: Buffer | string): void {
  x.headers["content-type"] = contentType;
  x.headers["content-length"] = String(Buffer.byteLength(body));
  x.res.writeHead(200, x.headers);
  x.res.end(body);
}

/** A required string field, else 400 `invalid_<field>`. */
export function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== "string" || v.length === 0)
    throw invalidRequest(`invalid_${field}`, `\`${field}\` must be a non-empty string.`, field);
  return v;
}

/** The request body as an object (an absent or non-object body reads as `{}`: the fields say what is missing). */
export const bodyObject = (x: Exchange): Record<string, unknown> =>
  x.body && typeof x.body === "object" && !Array.isArray(x.body) ? (x.body as Record<string, unknown>) : {};
