/**
 * Amazon Bedrock adapter: the Converse API for chat
 * (`POST /model/{modelId}/converse`, `/converse-stream`) and InvokeModel for
 * Titan and Cohere embeddings. Invariants:
 * - Every request is signed with AWS Signature Version 4 (signing.ts) from the
 *   target's `bedrock` settings (settings.ts); the secret key and session
 *   token never appear in a message (errors.ts scrubs them).
 * - Translation lives beside it: request.ts (canonical → Converse),
 *   response.ts (a whole answer), stream.ts (event-stream frames → chunks),
 *   usage.ts, embeddings.ts.
 * - `chat()` resolves once Bedrock answered 2xx (call.ts → postJson); a
 *   stream's exception frames and truncation are UpstreamErrors thrown from
 *   the iterator; aborting the call's signal tears the connection down.
 * - Native requests are never taken (Converse is no client-facing API here).
 */
import type { Usage } from "../../types.js";
import type { ChatResult, ProviderAdapter } from "../types.js";
import { bedrockPost } from "./call.js";
import { bedrockEmbeddings } from "./embeddings.js";
import { toConverseRequest } from "./request.js";
import { completionId, fromConverseResponse, type ConverseResponse } from "./response.js";
import { modelUrl, secretsOf, settingsOf } from "./settings.js";
import { converseChunks } from "./stream.js";
import { usageFromBedrock } from "./usage.js";

interface BedrockAdapterOptions {
  label?: string;
  /** The signing clock (tests; a host whose clock is off would be refused by AWS beyond five minutes). */
  now?: () => Date;
}

export function createBedrockAdapter(o: BedrockAdapterOptions = {}): ProviderAdapter {
  const label = o.label ?? "bedrock";
  const clock = o.now ? { now: o.now } : {};
  return {
    format: "bedrock",
    async chat(req, target, opts): Promise<ChatResult> {
      const settings = settingsOf(target);
      const stream = req.stream === true;
      const call = await bedrockPost({
        url: modelUrl(target, stream ? "converse-stream" : "converse"),
        body: toConverseRequest(req),
        ...(stream ? { headers: { accept: "application/vnd.amazon.eventstream" } } : {}),
        settings,
        opts,
        label,
        ...clock,
      });
      const id = completionId(call.headers);
      if (!stream) {
        const json = (await call.json()) as ConverseResponse;
        const response = fromConverseResponse(json, id, target.model, label);
        return { kind: "response", response, usage: usageFromBedrock(json?.usage) };
      }
      let usage: Usage | undefined;
      const chunks = converseChunks(
        call,
        { id, model: target.model, label, secrets: secretsOf(settings) },
        (u) => (usage = u),
      );
      return { kind: "stream", stream: chunks, usage: () => usage };
    },
    embeddings: (req, target, opts) =>
      bedrockEmbeddings(req, { target, settings: settingsOf(target), opts, label, ...clock }),
  };
}
