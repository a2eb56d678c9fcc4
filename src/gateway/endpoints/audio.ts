/**
 * Audio (OpenAI's Audio API):
 *  - POST /v1/audio/transcriptions, a multipart/form-data upload: the
 *    `prompt` goes through the input policy, the transcript through the
 *    output policy; the hold bounds the audio by its bytes (at least
 *    MIN_AUDIO_BYTES_PER_SECOND, so the duration at a per-hour price) and its
 *    tokens by the model's context window;
 *  - POST /v1/audio/speech: the `input` (and `instructions`) go through the
 *    input policy; the answer is the audio bytes with their content type.
 * Neither keeps audio in the log: an upload or an answer is stored as
 * `[audio: N bytes, type]`.
 */
import type { GatewayCall } from "../call.js";
import { oneTarget, type OneTargetRuntime, scanTexts } from "./one-target.js";
import { invalidRequest } from "../errors.js";
import type { SpeechRequest, TranscribeResult } from "../media.js";
import { multipartOf, uploadPlaceholder } from "../request-input.js";
import { embeddingsInputBound, estimateTextTokens } from "../tokens.js";
import { checkParams } from "../inbound/params.js";
import { scanOutput, sendBytes, servedHeaders } from "./media.js";
import { speechSchema, transcriptionFieldsSchema } from "./media-schema.js";

/**
 * The lowest bitrate an accepted audio file can have (2 kbit/s, below every speech codec in the formats
 * the providers take): its bytes / this bound its seconds.
 */
const MIN_AUDIO_BYTES_PER_SECOND = 250;
/** Form fields the gateway reads itself; the others go upstream as sent. */
const OWN_FIELDS = new Set(["model", "file", "response_format", "stream"]);

/** The transcript as the client may see it: the output policy over its text, segments and words. */
function scanTranscript(call: GatewayCall, body: TranscribeResult["body"]): TranscribeResult["body"] {
  if (typeof body === "string") return scanOutput(call, body);
  const out: Record<string, unknown> = { ...body };
  if (typeof body.text === "string") out.text = scanOutput(call, body.text);
  for (const [list, field] of [
    ["segments", "text"],
    ["words", "word"],
  ] as const) {
    const items = body[list];
    if (Array.isArray(items))
      out[list] = items.map((s) =>
        s && typeof s === "object" && typeof s[field] === "string" ? { ...s, [field]: scanOutput(call, s[field]) } : s,
      );
  }
  return out;
}

export async function serveTranscription(call: GatewayCall, rt: OneTargetRuntime): Promise<void> {
  const { x } = call;
  try {
    const body = x.body as Record<string, unknown>;
    const { fields, file } = multipartOf(x);
    if (!file) throw invalidRequest("invalid_file", "Upload the audio as the multipart field `file`.", "file");
    if (file.data.length === 0) throw invalidRequest("invalid_file", "The uploaded file is empty.", "file");
    checkParams(transcriptionFieldsSchema, body);
    const format = (body.response_format as string | undefined) ?? "json";
    if (body.stream === "true")
      throw invalidRequest("unsupported_stream", "Streamed transcriptions are not supported; omit `stream`.", "stream");
    const prompt = typeof body.prompt === "string" ? body.prompt : "";
    const [scanned = ""] = await scanTexts(call, body.model, prompt ? [prompt] : []);
    call.logRequestBody();
    const admitted = await oneTarget(call, rt, body.model, "transcribe");
    await call.reserve({
      routes: admitted.routes,
      // The provider refuses audio tokens beyond the model's context window: the bound is at most the window.
      input: { tokens: file.data.length + Buffer.byteLength(scanned), images: 0, withinContext: true },
      audioSeconds: Math.ceil(file.data.length / MIN_AUDIO_BYTES_PER_SECOND),
      maxOutputTokens: null,
      choices: 1,
    });
    const sent = fields
      .filter(([k]) => !OWN_FIELDS.has(k))
      .map(([k, v]): [string, string] => (k === "prompt" ? [k, scanned] : [k, v]));
    const out = await rt.execute.call(
      "transcribe",
      admitted.targets,
      { model: "", file, fields: sent, responseFormat: format },
      call.abort,
      call.log.attempts,
    );
    const result = scanTranscript(call, out.result.body);
    const text = typeof result === "string" ? result : String(result.text ?? "");
    call.usage = out.result.usage ?? {
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: estimateTextTokens(text),
      estimated: true,
    };
    call.logResponseBody(result);
    call.costHeaders(await call.settle("ok"));
    servedHeaders(x, call);
    if (typeof result !== "string") x.sendJson(200, result);
    else sendBytes(x, format === "vtt" ? "text/vtt; charset=utf-8" : "text/plain; charset=utf-8", result);
  } catch (err) {
    await call.fail(err);
  }
}

export async function serveSpeech(call: GatewayCall, rt: OneTargetRuntime): Promise<void> {
  const { x } = call;
  try {
    checkParams(speechSchema, x.body);
    const body = x.body as Record<string, unknown>;
    const input = body.input as string;
    if (body.stream_format !== undefined && body.stream_format !== "audio")
      throw invalidRequest(
        "unsupported_stream_format",
        'Only `stream_format: "audio"` is supported: the answer is the whole audio file.',
        "stream_format",
      );
    const instructions = typeof body.instructions === "string" && body.instructions ? body.instructions : null;
    const scanned = await scanTexts(call, body.model, instructions ? [input, instructions] : [input]);
    call.logRequestBody();
    const admitted = await oneTarget(call, rt, body.model, "speech");
    await call.reserve({
      routes: admitted.routes,
      input: embeddingsInputBound(scanned),
      maxOutputTokens: null,
      choices: 1,
    });
    const { stream_format: _, ...rest } = body;
    const req = {
      ...rest,
      input: scanned[0]!,
      ...(instructions ? { instructions: scanned[1]! } : {}),
    } as SpeechRequest;
    const out = await rt.execute.call("speech", admitted.targets, req, call.abort, call.log.attempts);
    const { audio, contentType } = out.result;
    call.usage = out.result.usage ?? {
      inputTokens: estimateTextTokens(req.input),
      cachedInputTokens: 0,
      outputTokens: 0,
      estimated: true,
    };
    call.logResponseBody(uploadPlaceholder({ filename: "", contentType, data: audio }));
    call.costHeaders(await call.settle("ok"));
    servedHeaders(x, call);
    sendBytes(x, contentType, audio);
  } catch (err) {
    await call.fail(err);
  }
}
