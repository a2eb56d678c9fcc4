/**
 * The canonical wire format of the gateway: OpenAI Chat Completions and
 * Embeddings shapes. /v1/chat/completions speaks it directly; every other
 * format (inbound /v1/messages, upstream Anthropic/Gemini) translates to and
 * from it. Invariants:
 * - Shapes are exactly what the official OpenAI SDKs send and accept; optional
 *   fields we do not model are simply absent (never invented).
 * - `Usage` is the provider-neutral metering record: inputTokens INCLUDES the
 *   cached part (OpenAI semantics), so cachedInputTokens <= inputTokens.
 * - Token counts are plain non-negative integers (never bigint, never money).
 */

export interface TextPart {
  type: "text";
  text: string;
}
export interface ImagePart {
  type: "image_url";
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}
/** Parts we forward untouched to OpenAI-format upstreams and refuse elsewhere. */
export interface OtherPart {
  type: "input_audio" | "file";
  [key: string]: unknown;
}
export type ContentPart = TextPart | ImagePart | OtherPart;

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface SystemMessage {
  role: "system" | "developer";
  content: string | TextPart[];
  name?: string;
}
export interface UserMessage {
  role: "user";
  content: string | ContentPart[];
  name?: string;
}
export interface AssistantMessage {
  role: "assistant";
  content?: string | TextPart[] | null;
  tool_calls?: ToolCall[];
  refusal?: string | null;
  name?: string;
  /**
   * The model's reasoning (Anthropic thinking, Gemini thoughts) as plain text: the field DeepSeek,
   * vLLM and others use on chat completions. Sent back to Anthropic only with `reasoning_signature`.
   */
  reasoning_content?: string | null;
  /** Anthropic's signature of `reasoning_content` (a thinking block's `signature`); Tollgate's own field. */
  reasoning_signature?: string | null;
}
export interface ToolMessage {
  role: "tool";
  content: string | TextPart[];
  tool_call_id: string;
}
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface FunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null };
    };

export interface ChatRequest {
  model: string;
  /**
   * How hard a reasoning model thinks (`minimal`, `low`, `medium`, `high`; OpenAI also knows `none`):
   * Anthropic extended thinking and Gemini thinking budgets are derived from it (docs/translation.md).
   */
  reasoning_effort?: string | null;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  tools?: FunctionTool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  n?: number | null;
  stop?: string | string[] | null;
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  seed?: number | null;
  user?: string;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number; image_tokens?: number };
  completion_tokens_details?: {
    reasoning_tokens?: number;
    audio_tokens?: number;
    image_tokens?: number;
    accepted_prediction_tokens?: number;
    rejected_prediction_tokens?: number;
  };
}

export interface ChatResponse {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      tool_calls?: ToolCall[];
      refusal?: string | null;
      /** The model's reasoning as text (see AssistantMessage). */
      reasoning_content?: string;
      /** Anthropic's signature of that reasoning (see AssistantMessage). */
      reasoning_signature?: string;
    };
    finish_reason: FinishReason | null;
    logprobs?: unknown;
  }>;
  usage?: OpenAIUsage;
  system_fingerprint?: string | null;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

export interface ChatChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: "assistant";
      content?: string | null;
      tool_calls?: ToolCallDelta[];
      refusal?: string | null;
      /** A piece of the model's reasoning text (it comes before the answer's content). */
      reasoning_content?: string;
      /** Anthropic's signature of the reasoning, once, after its last piece. */
      reasoning_signature?: string;
    };
    finish_reason: FinishReason | null;
    logprobs?: unknown;
  }>;
  usage?: OpenAIUsage | null;
  system_fingerprint?: string | null;
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: "float" | "base64";
  dimensions?: number;
  user?: string;
}

export interface EmbeddingsResponse {
  object: "list";
  data: Array<{ object: "embedding"; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/**
 * Provider-neutral metering record (see header: input includes cached). Every
 * optional count is a PART of `inputTokens` or `outputTokens`, never added to
 * them, so a price that does not know a component bills it at its parent rate.
 */
export interface Usage {
  /** Every input token: plain, cache reads, cache writes, audio, image. */
  inputTokens: number;
  /** Input tokens read from a prompt cache (any modality); part of inputTokens. */
  cachedInputTokens: number;
  /** Every output token: text, reasoning, audio, image. */
  outputTokens: number;
  /** Tokens written to a prompt cache (Anthropic bills them above the input rate); part of inputTokens. */
  cacheWriteInputTokens?: number;
  /** The part of cacheWriteInputTokens written with a one-hour lifetime (billed higher still). */
  cacheWrite1hInputTokens?: number;
  /** Audio input tokens, cached ones included; part of inputTokens. */
  audioInputTokens?: number;
  /** The part of audioInputTokens read from the cache (also counted in cachedInputTokens). */
  cachedAudioInputTokens?: number;
  /** Image input tokens; part of inputTokens. */
  imageInputTokens?: number;
  /** Reasoning (thinking) tokens; part of outputTokens. */
  reasoningTokens?: number;
  /** Audio output tokens; part of outputTokens. */
  audioOutputTokens?: number;
  /** Image output tokens; part of outputTokens. */
  imageOutputTokens?: number;
  /** Server-side web searches the provider ran (priced per thousand where the price library knows it). */
  webSearches?: number;
  /** Server-side file searches the provider ran (OpenAI's file_search tool; priced per thousand calls where known). */
  fileSearches?: number;
  /** Seconds of input audio (transcription), billed where the price is per hour of audio; apart from the tokens. */
  audioInputSeconds?: number;
  /** True when the numbers are our estimate rather than the provider's report. */
  estimated?: boolean;
}

export function usageToOpenAI(u: Usage): OpenAIUsage {
  const prompt: NonNullable<OpenAIUsage["prompt_tokens_details"]> = { cached_tokens: u.cachedInputTokens };
  if (u.audioInputTokens) prompt.audio_tokens = u.audioInputTokens;
  const out: OpenAIUsage = {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: prompt,
  };
  if (u.reasoningTokens || u.audioOutputTokens) {
    const completion: NonNullable<OpenAIUsage["completion_tokens_details"]> = {};
    if (u.reasoningTokens) completion.reasoning_tokens = u.reasoningTokens;
    if (u.audioOutputTokens) completion.audio_tokens = u.audioOutputTokens;
    out.completion_tokens_details = completion;
  }
  return out;
}

export function usageFromOpenAI(u: OpenAIUsage | null | undefined): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
  const pd = u.prompt_tokens_details;
  const cd = u.completion_tokens_details;
  const input = count(u.prompt_tokens);
  let output = count(u.completion_tokens);
  const reasoning = count(cd?.reasoning_tokens);
  // xAI reports reasoning beside completion_tokens, not inside it (its total_tokens is the sum of
  // all three); OpenAI's total is prompt + completion, so only the former matches this sum.
  if (reasoning && count(u.total_tokens) === input + output + reasoning) output += reasoning;
  const usage: Usage = {
    inputTokens: input,
    cachedInputTokens: Math.min(count(pd?.cached_tokens), input),
    outputTokens: output,
  };
  const audioIn = Math.min(count(pd?.audio_tokens), input);
  if (audioIn) usage.audioInputTokens = audioIn;
  const imageIn = Math.min(count(pd?.image_tokens), input - audioIn);
  if (imageIn) usage.imageInputTokens = imageIn;
  const reasoningOut = Math.min(reasoning, output);
  if (reasoningOut) usage.reasoningTokens = reasoningOut;
  const audioOut = Math.min(count(cd?.audio_tokens), output - reasoningOut);
  if (audioOut) usage.audioOutputTokens = audioOut;
  const imageOut = Math.min(count(cd?.image_tokens), output - reasoningOut - audioOut);
  if (imageOut) usage.imageOutputTokens = imageOut;
  return usage;
}

/** Text of a message content (string or parts); non-text parts are skipped. */
export function contentText(
  content: string | ReadonlyArray<{ type: string; text?: unknown }> | null | undefined,
): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  let out = "";
  for (const p of content) if (p.type === "text" && typeof p.text === "string") out += p.text;
  return out;
}
