/**
 * The parameters of a Responses API request, with the types and ranges of
 * the official `openai` package's ResponseCreateParams. They only check (see
 * inbound/params.ts): every object is loose, so parameters OpenAI adds later
 * pass; values OpenAI keeps adding to (models, efforts, item and tool types)
 * are typed, not enumerated — what the gateway cannot honour is refused with
 * its own clear error in request.ts, never by this schema.
 */
import { z } from "zod";
import { intFrom, ranged } from "../inbound/params.js";

const str = z.string();
const item = z.looseObject({ type: str.optional(), role: str.optional() });

export const responsesSchema = z.looseObject({
  model: str.optional(),
  input: z.union([str.min(1), z.array(item).min(1)], { error: "must be a non-empty string or array of items" }),
  instructions: str.nullish(),
  previous_response_id: str.nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  background: z.boolean().nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: intFrom(1).nullish(),
  max_tool_calls: intFrom(1).nullish(),
  temperature: ranged(0, 2),
  top_p: ranged(0, 1),
  top_logprobs: z.int().min(0).max(20).nullish(),
  tools: z.array(z.looseObject({ type: str })).optional(),
  tool_choice: z.union([str, z.looseObject({ type: str })]).optional(),
  text: z.looseObject({ format: z.looseObject({ type: str }).optional(), verbosity: str.nullish() }).nullish(),
  reasoning: z.looseObject({ effort: str.nullish(), summary: str.nullish() }).nullish(),
  metadata: z.record(str, str).nullish(),
  include: z.array(str).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  user: str.optional(),
  safety_identifier: str.optional(),
  prompt_cache_key: str.optional(),
  service_tier: str.nullish(),
});
