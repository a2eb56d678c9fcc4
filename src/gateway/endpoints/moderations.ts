/**
 * Moderations (OpenAI's POST /v1/moderations): the text inputs go through
 * the input policy like any text that leaves for a provider → route to a
 * provider that moderates → reserve (text bytes, images at their ceiling, no
 * output) → executor → settle → answer. Images sent as `data:` URLs are kept
 * in the log as `[image: N bytes]`.
 */
import type { GatewayCall } from "../call.js";
import { oneTarget, type OneTargetRuntime, scanTexts } from "./one-target.js";
import type { ModerationRequest } from "../media.js";
import { embeddingsInputBound, estimateTextTokens } from "../tokens.js";
import { checkParams } from "../inbound/params.js";
import { servedHeaders } from "./media.js";
import { moderationsSchema } from "./media-schema.js";

interface Part {
  type: string;
  text?: string;
  image_url?: { url?: unknown };
  [k: string]: unknown;
}

/** The request as the log keeps it: inline images replaced by their size. */
function forLog(body: Record<string, unknown>, input: ModerationRequest["input"]): Record<string, unknown> {
  if (typeof input === "string") return { ...body, input };
  return {
    ...body,
    input: input.map((p) => {
      const url = typeof p === "object" ? (p as Part).image_url?.url : undefined;
      if (typeof url !== "string" || !url.startsWith("data:")) return p;
      return {
        ...(p as Part),
        image_url: { url: `[image: ${Buffer.byteLength(url.slice(url.indexOf(",") + 1), "base64")} bytes]` },
      };
    }),
  };
}

export async function serveModerations(call: GatewayCall, rt: OneTargetRuntime): Promise<void> {
  const { x } = call;
  try {
    checkParams(moderationsSchema, x.body);
    const body = x.body as Record<string, unknown>;
    const input = body.input as string | Array<string | Part>;
    const parts = typeof input === "string" ? [input] : input;
    const texts: string[] = [];
    let images = 0;
    for (const p of parts) {
      if (typeof p === "string") texts.push(p);
      else if (p.type === "text") texts.push(p.text!);
      else images++;
    }
    const scanned = await scanTexts(call, body.model, texts);
    let i = 0;
    const sent: ModerationRequest["input"] =
      typeof input === "string"
        ? scanned[0]!
        : parts.map((p) =>
            typeof p === "string" ? scanned[i++]! : p.type === "text" ? { ...p, text: scanned[i++]! } : p,
          );
    x.body = forLog(body, sent);
    x.bodyText = JSON.stringify(x.body);
    call.logRequestBody();
    const admitted = await oneTarget(call, rt, body.model, "moderate");
    await call.reserve({
      routes: admitted.routes,
      input: { ...embeddingsInputBound(scanned), images },
      maxOutputTokens: null,
      choices: 1,
      noOutput: true,
    });
    const out = await rt.execute.call(
      "moderate",
      admitted.targets,
      { ...body, input: sent } as ModerationRequest,
      call.abort,
      call.log.attempts,
    );
    call.usage = out.result.usage ?? {
      inputTokens: scanned.reduce((s, t) => s + estimateTextTokens(t), 0),
      cachedInputTokens: 0,
      outputTokens: 0,
      estimated: true,
    };
    call.logResponseBody(out.result.response);
    call.costHeaders(await call.settle("ok"));
    servedHeaders(x, call);
    x.sendJson(200, out.result.response);
  } catch (err) {
    await call.fail(err);
  }
}
