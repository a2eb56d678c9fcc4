/**
 * The OpenAI wire format's media endpoints: images/generations,
 * audio/transcriptions (multipart/form-data out), audio/speech and
 * moderations. Invariants:
 * - Requests go out as the client sent them, with the provider-side model id.
 * - Transcriptions asked as `text` are asked upstream as `json` (which reports
 *   usage) and answered as text; SRT/WebVTT answers report no usage, so their
 *   audio duration is read from the last cue (estimated).
 * - Speech from the gpt-…-tts models is asked as server-sent events, the one
 *   form in which OpenAI reports its usage; the audio deltas are joined back
 *   into one file. Other models answer with the audio bytes and no usage.
 */
import {
  imagesUsage,
  SPEECH_TYPES,
  speechUsage,
  subtitleSeconds,
  transcriptionUsage,
  type ImagesResponse,
} from "../../media.js";
import { joinUrl, parseEventJson, postJson, sseEvents } from "../http/index.js";
import type { UpstreamCall } from "../http/transport.js";
import { type ProviderAdapter, type UpstreamTarget, UpstreamError } from "../types.js";
import { streamError } from "./errors.js";

type MediaMethods = Required<Pick<ProviderAdapter, "images" | "transcribe" | "speech" | "moderate">>;

const MAX_BODY = 32 * 1024 * 1024;

/** The whole body as bytes, refused past MAX_BODY. */
async function readBytes(call: UpstreamCall, label: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of call.chunks()) {
    size += c.length;
    if (size > MAX_BODY) throw new UpstreamError("protocol", `${label} response body exceeds ${MAX_BODY} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts, size);
}

const objectOr = (json: unknown, label: string, what: string): Record<string, unknown> => {
  if (!json || typeof json !== "object" || Array.isArray(json))
    throw new UpstreamError("protocol", `${label} ${what} response is not an object`);
  return json as Record<string, unknown>;
};

export function openaiMedia(
  label: string,
  headersFor: (target: UpstreamTarget, stream: boolean) => Record<string, string>,
): MediaMethods {
  return {
    async images(req, target, opts) {
      const call = await postJson({
        url: joinUrl(target.baseUrl, "images/generations"),
        headers: headersFor(target, false),
        body: { ...req, model: target.model },
        opts,
        apiKey: target.apiKey,
        label,
      });
      const json = objectOr(await call.json(), label, "images");
      if (json.error) throw streamError(json, label, target.apiKey);
      if (!Array.isArray(json.data)) throw new UpstreamError("protocol", `${label} images response has no data`);
      return { response: json as unknown as ImagesResponse, usage: imagesUsage(json.usage) };
    },

    async transcribe(req, target, opts) {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(req.file.data)], { type: req.file.contentType }), req.file.filename);
      form.append("model", target.model);
      for (const [k, v] of req.fields) form.append(k, v);
      const asText = req.responseFormat === "text";
      form.append("response_format", asText ? "json" : req.responseFormat);
      const encoded = new Response(form);
      const call = await postJson({
        url: joinUrl(target.baseUrl, "audio/transcriptions"),
        headers: {
          ...headersFor(target, false),
          "content-type": encoded.headers.get("content-type") ?? "multipart/form-data",
          accept: "application/json, text/plain",
        },
        body: Buffer.from(await encoded.arrayBuffer()),
        opts,
        apiKey: target.apiKey,
        label,
      });
      if (req.responseFormat === "srt" || req.responseFormat === "vtt") {
        const text = (await readBytes(call, label)).toString("utf8");
        const seconds = subtitleSeconds(text);
        const usage =
          seconds === undefined
            ? undefined
            : { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, audioInputSeconds: seconds, estimated: true };
        return { body: text, usage };
      }
      const json = objectOr(await call.json(), label, "transcription");
      if (json.error) throw streamError(json, label, target.apiKey);
      if (typeof json.text !== "string") throw new UpstreamError("protocol", `${label} transcription has no text`);
      return { body: asText ? json.text : json, usage: transcriptionUsage(json) };
    },

    async speech(req, target, opts) {
      const format = typeof req.response_format === "string" ? req.response_format : "mp3";
      const sse = /^gpt-.*tts/.test(target.model);
      const call = await postJson({
        url: joinUrl(target.baseUrl, "audio/speech"),
        headers: { ...headersFor(target, sse), accept: sse ? "text/event-stream" : "*/*" },
        body: { ...req, model: target.model, ...(sse ? { stream_format: "sse" } : {}) },
        opts,
        apiKey: target.apiKey,
        label,
      });
      const type = String(call.headers["content-type"] ?? "");
      if (!type.startsWith("text/event-stream")) {
        const audio = await readBytes(call, label);
        return { audio, contentType: type || (SPEECH_TYPES[format] ?? "application/octet-stream"), usage: undefined };
      }
      const parts: Buffer[] = [];
      let usage: ReturnType<typeof speechUsage>;
      for await (const ev of sseEvents(call, label)) {
        if (ev.data === "[DONE]") break;
        const raw = parseEventJson(ev.data, label) as { type?: unknown; audio?: unknown; usage?: unknown };
        if (raw && typeof raw === "object" && (raw as { error?: unknown }).error)
          throw streamError(raw as Record<string, unknown>, label, target.apiKey);
        if (raw?.type === "speech.audio.delta" && typeof raw.audio === "string")
          parts.push(Buffer.from(raw.audio, "base64"));
        else if (raw?.type === "speech.audio.done") usage = speechUsage(raw.usage);
      }
      return { audio: Buffer.concat(parts), contentType: SPEECH_TYPES[format] ?? "application/octet-stream", usage };
    },

    async moderate(req, target, opts) {
      const call = await postJson({
        url: joinUrl(target.baseUrl, "moderations"),
        headers: headersFor(target, false),
        body: { ...req, model: target.model },
        opts,
        apiKey: target.apiKey,
        label,
      });
      const json = objectOr(await call.json(), label, "moderation");
      if (json.error) throw streamError(json, label, target.apiKey);
      if (!Array.isArray(json.results)) throw new UpstreamError("protocol", `${label} moderation has no results`);
      return { response: json, usage: undefined };
    },
  };
}
