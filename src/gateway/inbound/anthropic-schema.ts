/**
 * The parameters of Anthropic's Messages request, with the types and ranges
 * of the official `@anthropic-ai/sdk` package's request type
 * (MessageCreateParams; `temperature`, `top_p` and `top_k`, which the newest
 * types leave out but the API and older clients still use, as the API documents
 * them): `max_tokens` is required, `temperature` is 0–1. They
 * only check (see params.ts): every object is loose, so a parameter Anthropic
 * adds later is never refused. Content blocks are checked as objects with a
 * string `type` (Anthropic keeps adding block types).
 */
import { z } from "zod";
import { intFrom } from "./params.js";

const str = z.string();
const textBlock = z.looseObject({ type: z.literal("text"), text: str });
const obj = z.looseObject({});
const block = z.looseObject({ type: str });

const content = z.union([str, z.array(block)], { error: "must be a string or an array of content blocks" });

const message = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content,
});

const tool = z.looseObject({
  name: str,
  description: str.optional(),
  input_schema: z.record(str, z.unknown()).optional(),
  type: str.nullish(),
});

const toolChoice = z.discriminatedUnion("type", [
  z.looseObject({ type: z.enum(["auto", "any", "none"]), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("tool"), name: str, disable_parallel_tool_use: z.boolean().optional() }),
]);

const thinking = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("enabled"), budget_tokens: intFrom(1024) }),
  z.looseObject({ type: z.enum(["disabled", "adaptive", "between_tools"]) }),
]);

export const messagesSchema = z.looseObject({
  model: str.optional(),
  max_tokens: intFrom(1),
  messages: z.array(message).min(1),
  cache_control: z.looseObject({ type: z.literal("ephemeral"), ttl: str.optional() }).nullish(),
  container: z.union([str, obj], { error: "must be a string or an object" }).nullish(),
  inference_geo: str.nullish(),
  metadata: z.looseObject({ user_id: str.nullish() }).optional(),
  output_config: z.looseObject({ effort: str.nullish(), format: obj.nullish() }).optional(),
  speed: str.nullish(),
  user_profile_id: str.optional(),
  workspace_id: str.optional(),
  service_tier: str.optional(),
  stop_sequences: z.array(str).optional(),
  stream: z.boolean().optional(),
  system: z.union([str, z.array(textBlock)], { error: "must be a string or an array of text blocks" }).optional(),
  temperature: z.number().min(0).max(1).optional(),
  thinking: thinking.optional(),
  tool_choice: toolChoice.optional(),
  tools: z.array(tool).optional(),
  top_k: z.int().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
});
