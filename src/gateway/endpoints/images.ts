/**
 * Image generation (OpenAI's POST /v1/images/generations): scan the prompt
 * with the input policy → route to a provider that draws → reserve (the
 * prompt's bytes, `n` × the model's output limit) → call through the
 * executor → settle at the reported usage → answer. The log never keeps the
 * image: each `b64_json` (and `data:` URL) is stored as `[image: N bytes]`.
 */
import type { GatewayCall } from "../call.js";
import { oneTarget, type OneTargetRuntime, scanTexts } from "./one-target.js";
import { invalidRequest } from "../errors.js";
import type { ImagesRequest, ImagesResponse } from "../media.js";
import { embeddingsInputBound, estimateTextTokens } from "../tokens.js";
import { checkParams } from "../inbound/params.js";
import { servedHeaders } from "./media.js";
import { imagesSchema } from "./media-schema.js";

/** What the log keeps of an answer: the images' sizes, never their bytes. */
function imagesForLog(r: ImagesResponse): ImagesResponse {
  const size = (b64: string) => `[image: ${Buffer.byteLength(b64, "base64")} bytes]`;
  return {
    ...r,
    data: r.data.map((d) => ({
      ...d,
      ...(typeof d.b64_json === "string" ? { b64_json: size(d.b64_json) } : {}),
      ...(typeof d.url === "string" && d.url.startsWith("data:")
        ? { url: size(d.url.slice(d.url.indexOf(",") + 1)) }
        : {}),
    })),
  };
}

export async function serveImages(call: GatewayCall, rt: OneTargetRuntime): Promise<void> {
  const { x } = call;
  try {
    checkParams(imagesSchema, x.body);
    const body = x.body as Record<string, unknown>;
    const prompt = body.prompt as string;
    if (body.stream === true)
      throw invalidRequest(
        "unsupported_stream",
        "Streamed image generation is not supported; omit `stream`.",
        "stream",
      );
    const n = (body.n as number | null | undefined) ?? 1;
    const [scanned] = await scanTexts(call, body.model, [prompt]);
    call.logRequestBody();
    const admitted = await oneTarget(call, rt, body.model, "images");
    await call.reserve({
      routes: admitted.routes,
      input: embeddingsInputBound(scanned!),
      maxOutputTokens: null,
      choices: n,
    });
    const req = { ...body, prompt: scanned! } as ImagesRequest;
    const out = await rt.execute.call("images", admitted.targets, req, call.abort, call.log.attempts);
    call.usage = out.result.usage ?? {
      inputTokens: estimateTextTokens(scanned!),
      cachedInputTokens: 0,
      outputTokens: 0,
      estimated: true,
    };
    call.logResponseBody(imagesForLog(out.result.response));
    call.costHeaders(await call.settle("ok"));
    servedHeaders(x, call);
    x.sendJson(200, out.result.response);
  } catch (err) {
    await call.fail(err);
  }
}
