/**
 * The canonical shapes of the media endpoints (OpenAI's Images, Audio and
 * Moderations APIs, which every adapter speaks on our side) and how their
 * reported usage becomes the metering record. Invariants:
 * - A request is forwarded as the client sent it except for the model id:
 *   fields we do not model pass through untouched.
 * - Usage is what the provider reported, mapped to `Usage` parts (image and
 *   audio tokens are parts of input/output, audio seconds are apart);
 *   `undefined` when it reported none (the endpoint then estimates).
 */
import type { Usage } from "./types.js";

export interface ImagesRequest {
  model: string;
  prompt: string;
  n?: number | null;
  response_format?: "url" | "b64_json" | null;
  size?: string | null;
  [field: string]: unknown;
}

export interface ImagesResponse {
  created: number;
  data: Array<{ b64_json?: string; url?: string; revised_prompt?: string }>;
  usage?: unknown;
  [field: string]: unknown;
}

/** An uploaded file, as read from the multipart body. */
export interface Upload {
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface TranscribeRequest {
  model: string;
  file: Upload;
  /** The other form fields as sent (`language`, `prompt`, `response_format`, `timestamp_granularities[]`…). */
  fields: Array<[string, string]>;
  /** json (default), text, verbose_json, srt, vtt. */
  responseFormat: string;
}

export interface TranscribeResult {
  /** A JSON answer (json, verbose_json), or the text of a text/srt/vtt answer. */
  body: Record<string, unknown> | string;
  usage: Usage | undefined;
}

export interface SpeechRequest {
  model: string;
  input: string;
  voice?: unknown;
  instructions?: string;
  response_format?: string;
  [field: string]: unknown;
}

export interface SpeechResult {
  audio: Buffer;
  contentType: string;
  usage: Usage | undefined;
}

export interface ModerationRequest {
  model?: string;
  input: string | Array<string | { type: string; text?: string; [k: string]: unknown }>;
}

export interface ModerationResult {
  response: Record<string, unknown>;
  usage: Usage | undefined;
}

/** Content types of the speech formats (OpenAI's `response_format`). */
export const SPEECH_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * Images API usage (`input_tokens`, `input_tokens_details.image_tokens`, `output_tokens`): every
 * output token is an image token unless the details say otherwise.
 */
export function imagesUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const r = u as {
    input_tokens?: unknown;
    output_tokens?: unknown;
    input_tokens_details?: { image_tokens?: unknown };
    output_tokens_details?: { image_tokens?: unknown };
  };
  const input = count(r.input_tokens);
  const output = count(r.output_tokens);
  const usage: Usage = { inputTokens: input, cachedInputTokens: 0, outputTokens: output };
  const imageIn = Math.min(count(r.input_tokens_details?.image_tokens), input);
  if (imageIn) usage.imageInputTokens = imageIn;
  const detailOut = r.output_tokens_details?.image_tokens;
  const imageOut = detailOut === undefined ? output : Math.min(count(detailOut), output);
  if (imageOut) usage.imageOutputTokens = imageOut;
  return usage;
}

/**
 * Transcription usage: `{type:"tokens", input_tokens, input_token_details.audio_tokens, output_tokens}`
 * (gpt-4o-transcribe) or `{type:"duration", seconds}` (whisper-1); else the verbose answer's `duration`.
 */
export function transcriptionUsage(body: unknown): Usage | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as { usage?: Record<string, unknown>; duration?: unknown };
  const u = b.usage;
  if (u && typeof u === "object" && (u.type === "tokens" || u.input_tokens !== undefined)) {
    const input = count(u.input_tokens);
    const usage: Usage = { inputTokens: input, cachedInputTokens: 0, outputTokens: count(u.output_tokens) };
    const audio = Math.min(
      count((u.input_token_details as { audio_tokens?: unknown } | undefined)?.audio_tokens),
      input,
    );
    if (audio) usage.audioInputTokens = audio;
    return usage;
  }
  const seconds = u && typeof u === "object" && u.type === "duration" ? u.seconds : b.duration;
  if (typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0)
    return { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, audioInputSeconds: seconds };
  return undefined;
}

/** The end of the last cue of an SRT or WebVTT answer, in seconds: the audio lasted at least that long. */
export function subtitleSeconds(text: string): number | undefined {
  let last: number | undefined;
  for (const m of text.matchAll(/-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})/g))
    last = Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
  return last;
}

/** Speech usage (`speech.audio.done` of a streamed answer): the output tokens are audio. */
export function speechUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const r = u as { input_tokens?: unknown; output_tokens?: unknown };
  const output = count(r.output_tokens);
  const usage: Usage = { inputTokens: count(r.input_tokens), cachedInputTokens: 0, outputTokens: output };
  if (output) usage.audioOutputTokens = output;
  return usage;
}
