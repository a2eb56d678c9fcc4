/**
 * The parameters of OpenAI's Chat Completions and Embeddings requests, with
 * the types and ranges of the official `openai` package's request types
 * (ChatCompletionCreateParams, EmbeddingCreateParams). They only check (see
 * params.ts): every object is loose, so a parameter OpenAI adds later, or a
 * vendor's own (`x_vendor_flag`), passes through to the provider untouched.
 * Values that OpenAI keeps adding to (model names, reasoning efforts) are
 * typed, not enumerated, where a new value must not be refused.
 */
import { z } from "zod";
import { intFrom, ranged } from "./params.js";

/** The most choices (`n`) one request may ask for (OpenAI's own limit; the credit hold counts every one). */
const MAX_CHOICES = 128;

const str = z.string();
const obj = z.looseObject({});
const textPart = z.looseObject({ type: z.literal("text"), text: str });
const textContent = z.union([str, z.array(textPart)], { error: "must be a string or an array of text parts" });

const userPart = z.discriminatedUnion("type", [
  textPart,
  z.looseObject({
    type: z.literal("image_url"),
    image_url: z.looseObject({ url: str, detail: z.enum(["auto", "low", "high"]).optional() }),
  }),
  z.looseObject({ type: z.literal("input_audio"), input_audio: z.looseObject({ data: str, format: str }) }),
  z.looseObject({
    type: z.literal("file"),
    file: z.looseObject({ file_data: str.optional(), file_id: str.optional(), filename: str.optional() }),
  }),
]);

const toolCall = z.looseObject({
  id: str,
  type: str,
  function: z.looseObject({ name: str, arguments: str }).optional(),
});

const message = z.discriminatedUnion("role", [
  z.looseObject({ role: z.enum(["system", "developer"]), content: textContent, name: str.optional() }),
  z.looseObject({
    role: z.literal("user"),
    content: z.union([str, z.array(userPart)], { error: "must be a string or an array of content parts" }),
    name: str.optional(),
  }),
  z.looseObject({
    role: z.literal("assistant"),
    content: z
      .union([str, z.array(z.looseObject({ type: z.enum(["text", "refusal"]) }))], {
        error: "must be a string, an array of text or refusal parts, or null",
      })
      .nullish(),
    refusal: str.nullish(),
    tool_calls: z.array(toolCall).optional(),
    name: str.optional(),
  }),
  z.looseObject({ role: z.literal("tool"), content: textContent, tool_call_id: str }),
  z.looseObject({ role: z.literal("function"), content: str.nullable(), name: str }),
]);

const functionDef = z.looseObject({
  name: str,
  description: str.optional(),
  parameters: z.record(str, z.unknown()).optional(),
  strict: z.boolean().nullish(),
});

const tool = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("function"), function: functionDef }),
  z.looseObject({ type: z.literal("custom"), custom: z.looseObject({ name: str, description: str.optional() }) }),
]);

const toolChoice = z.union(
  [
    z.enum(["none", "auto", "required"]),
    z.discriminatedUnion("type", [
      z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: str }) }),
      z.looseObject({ type: z.literal("custom"), custom: z.looseObject({ name: str }) }),
      z.looseObject({
        type: z.literal("allowed_tools"),
        allowed_tools: z.looseObject({ mode: z.enum(["auto", "required"]), tools: z.array(obj) }),
      }),
    ]),
  ],
  {
    error: 'must be "none", "auto", "required" or an object naming a tool ({"type":"function","function":{"name":…}})',
  },
);

const responseFormat = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    json_schema: z.looseObject({
      name: str,
      description: str.optional(),
      schema: z.record(str, z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** Up to 16 string pairs: keys up to 64 characters, values up to 512. */
const metadata = z
  .record(str.max(64), str.max(512))
  .refine((m) => Object.keys(m).length <= 16, { error: "must have at most 16 entries" });

export const chatCompletionsSchema = z.looseObject({
  model: str.optional(),
  messages: z.array(message).min(1),
  audio: z.looseObject({ voice: str, format: z.enum(["wav", "aac", "mp3", "flac", "opus", "pcm16"]) }).nullish(),
  frequency_penalty: ranged(-2, 2),
  function_call: z
    .union([z.enum(["none", "auto"]), z.looseObject({ name: str })], {
      error: 'must be "none", "auto" or {"name": …}',
    })
    .optional(),
  functions: z.array(functionDef).optional(),
  logit_bias: z.record(str, z.number().min(-100).max(100)).nullish(),
  logprobs: z.boolean().nullish(),
  max_completion_tokens: intFrom(1).nullish(),
  max_tokens: intFrom(1).nullish(),
  metadata: metadata.nullish(),
  modalities: z.array(z.enum(["text", "audio"])).nullish(),
  n: intFrom(1).max(MAX_CHOICES).nullish(),
  parallel_tool_calls: z.boolean().optional(),
  prediction: z.looseObject({ type: z.literal("content"), content: textContent }).nullish(),
  presence_penalty: ranged(-2, 2),
  prompt_cache_key: str.optional(),
  prompt_cache_retention: str.nullish(),
  reasoning_effort: str.nullish(),
  response_format: responseFormat.optional(),
  safety_identifier: str.optional(),
  seed: z.int().nullish(),
  service_tier: str.nullish(),
  stop: z.union([str, z.array(str).max(4)], { error: "must be a string or an array of up to 4 strings" }).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .looseObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
    .nullish(),
  temperature: ranged(0, 2),
  tool_choice: toolChoice.optional(),
  tools: z.array(tool).optional(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  top_p: ranged(0, 1),
  user: str.optional(),
  verbosity: str.nullish(),
  web_search_options: z
    .looseObject({
      search_context_size: z.enum(["low", "medium", "high"]).optional(),
      user_location: z.looseObject({ type: z.literal("approximate"), approximate: obj }).nullish(),
    })
    .optional(),
});

export const embeddingsSchema = z.looseObject({
  model: str.optional(),
  input: z.union([str, z.array(str).min(1), z.array(z.int()).min(1), z.array(z.array(z.int()).min(1)).min(1)], {
    error: "must be a string, an array of strings, or token ids (an array of integers, or of arrays of integers)",
  }),
  dimensions: intFrom(1).optional(),
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: str.optional(),
});
