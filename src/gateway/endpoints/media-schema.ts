/**
 * The parameters of OpenAI's media requests, with the types and ranges of
 * the official `openai` package's ImageGenerateParams, SpeechCreateParams,
 * TranscriptionCreateParams and ModerationCreateParams. They only check (see
 * inbound/params.ts): every object is loose, so parameters Tollgate does not
 * know pass through to the provider untouched. A value set the SDK types as
 * closed (`response_format`, `background`, `quality`…) is enumerated; one
 * OpenAI keeps adding to (models, sizes, voices, languages) is typed only.
 * What the gateway itself cannot serve (a stream) is refused by the endpoint
 * with its own error, not here.
 */
import { z } from "zod";
import { intFrom } from "../inbound/params.js";

const str = z.string();
/** A union's message, or "is required" when the parameter is absent. */
const unionError = (message: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? "is required" : message;
/** A required string that may not be empty (the one message the hand checks gave). */
const nonEmpty = (max: number) => str.max(max).refine((s) => s.length > 0, "must be a non-empty string");

/** The longest image prompt a model takes (gpt-image-1; dall-e-3 takes 4 000, dall-e-2 1 000). */
const MAX_IMAGE_PROMPT = 32_000;
/** The most images one request may ask for (OpenAI's limit; the credit hold counts every one). */
const MAX_IMAGES = 10;

export const imagesSchema = z.looseObject({
  prompt: nonEmpty(MAX_IMAGE_PROMPT),
  model: str.nullish(),
  n: intFrom(1).max(MAX_IMAGES).nullish(),
  size: str.nullish(),
  quality: z.enum(["standard", "hd", "low", "medium", "high", "auto"]).nullish(),
  response_format: z.enum(["url", "b64_json"]).nullish(),
  output_format: z.enum(["png", "jpeg", "webp"]).nullish(),
  output_compression: z.int().min(0).max(100).nullish(),
  background: z.enum(["transparent", "opaque", "auto"]).nullish(),
  moderation: z.enum(["low", "auto"]).nullish(),
  partial_images: z.int().min(0).max(3).nullish(),
  stream: z.boolean().nullish(),
  style: z.enum(["vivid", "natural"]).nullish(),
  user: str.optional(),
});

export const speechSchema = z.looseObject({
  input: nonEmpty(4096),
  model: str.optional(),
  voice: z.union([str, z.looseObject({ id: str })], {
    error: unionError("must be a voice name or a custom voice `{id}`"),
  }),
  instructions: str.optional(),
  response_format: z.enum(["mp3", "opus", "aac", "flac", "wav", "pcm"]).optional(),
  speed: z.number().min(0.25).max(4).optional(),
  stream_format: z.enum(["sse", "audio"]).optional(),
});

/** The transcript formats the gateway answers (the SDK's AudioResponseFormat but `diarized_json`). */
const TRANSCRIPT_FORMATS = ["json", "text", "verbose_json", "srt", "vtt"] as const;

/** A number sent as a multipart text field ("0.2"): checked as a number in [min, max]. */
const numericField = (min: number, max: number) =>
  str
    .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, "must be a number")
    .pipe(z.coerce.number<string>().min(min).max(max))
    .meta({ description: `A number from ${min} to ${max}, sent as text.` });
/** A list field: `name[]` parts arrive as an array, a lone `name` part as one string. */
const listField = <T extends z.ZodType<string>>(item: T, what: string) =>
  z.union([item, z.array(item)], { error: `must be ${what}, or a list of them` });

/**
 * The text fields of a transcription's multipart form (the file is the endpoint's to check): every value
 * arrives as a string, so numbers and booleans are checked as the strings the SDKs send.
 */
export const transcriptionFieldsSchema = z.looseObject({
  model: str.optional(),
  language: str.optional(),
  prompt: str.optional(),
  response_format: z.enum(TRANSCRIPT_FORMATS).optional(),
  temperature: numericField(0, 1).optional(),
  stream: z.enum(["true", "false"]).optional(),
  chunking_strategy: str.optional(),
  include: listField(str, "a string").optional(),
  timestamp_granularities: listField(z.enum(["word", "segment"]), '"word" or "segment"').optional(),
  known_speaker_names: listField(str, "a string").optional(),
  known_speaker_references: listField(str, "a string").optional(),
});

const moderationPart = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: str }),
  z.looseObject({ type: z.literal("image_url"), image_url: z.looseObject({ url: str }) }),
]);

export const moderationsSchema = z.looseObject({
  input: z.union([str, z.array(str).min(1), z.array(moderationPart).min(1)], {
    error: unionError(
      "must be a string, a non-empty array of strings, or a non-empty array of `text` / `image_url` parts",
    ),
  }),
  model: str.optional(),
});
