/**
 * Token counts the gateway works out itself:
 *  - `inputBound`: an upper bound of the input tokens a request sends, for the
 *    credit hold. Every tokenizer the providers use (byte-level BPE,
 *    SentencePiece with byte fallback) spends at least one UTF-8 byte per token,
 *    so the bytes of everything sent as text bound its tokens: CJK text, a large
 *    JSON schema or tool list all count in full. Images count at their
 *    provider's documented maximum instead of the bytes of their URL or data;
 *    files (PDFs) make the bound the model's context window.
 *  - `estimateTextTokens`: a rough estimate (~3.5 characters per token) where a
 *    provider never reported usage (the bill of an aborted stream).
 */
import type { InputBound, RouteInfo } from "./hooks.js";
import { formatDescriptor } from "./providers/registry.js";
import type { ChatRequest, EmbeddingsRequest, Usage } from "./types.js";

/** Tokens a provider adds per message (role markers) and per request (priming), above the text. */
const PER_MESSAGE = 8;
const PER_REQUEST = 16;
/** Tool definitions come with a system prompt of the provider's own (Anthropic documents up to ~350 tokens). */
const TOOLS_OVERHEAD = 600;

export const estimateTextTokens = (text: string): number => Math.ceil(text.length / 3.5);

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** Upper bound of the input tokens (images counted apart, see `imageTokenCeiling`). */
export function inputBound(req: ChatRequest): InputBound {
  let tokens = PER_REQUEST;
  let images = 0;
  let unbounded = false;
  for (const m of req.messages) {
    tokens += PER_MESSAGE;
    const c = (m as { content?: unknown }).content;
    if (typeof c === "string") tokens += bytes(c);
    else if (Array.isArray(c)) {
      for (const p of c as Array<{ type?: string; text?: unknown }>) {
        if (p.type === "text" && typeof p.text === "string") tokens += bytes(p.text);
        else if (p.type === "image_url") images++;
        // A file (a PDF): each page costs its text and an image, more than its compressed bytes can bound.
        else if (p.type === "file") unbounded = true;
        // Audio: its encoded bytes exceed its tokens.
        else tokens += bytes(JSON.stringify(p));
      }
    }
    const calls = (m as { tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> })
      .tool_calls;
    for (const call of calls ?? [])
      tokens +=
        PER_MESSAGE + bytes(call.id ?? "") + bytes(call.function?.name ?? "") + bytes(call.function?.arguments ?? "");
    const name = (m as { name?: unknown }).name;
    if (typeof name === "string") tokens += bytes(name);
  }
  if (req.tools?.length) tokens += TOOLS_OVERHEAD + bytes(JSON.stringify(req.tools));
  if (req.tool_choice && typeof req.tool_choice === "object") tokens += bytes(JSON.stringify(req.tool_choice));
  if (req.response_format && req.response_format.type !== "text")
    tokens += TOOLS_OVERHEAD + bytes(JSON.stringify(req.response_format));
  if (req.stop) tokens += bytes(JSON.stringify(req.stop));
  return unbounded ? { tokens, images, unbounded } : { tokens, images };
}

/**
 * The most tokens one image can cost on a route: its format's documented maximum (each
 * provider's descriptor holds its rule and the reasoning behind it). An image that costs
 * more anyway is still charged in full (the hold is then short).
 */
export function imageTokenCeiling(route: Pick<RouteInfo, "format" | "model">): number {
  return formatDescriptor(route.format).imageTokenCeiling(route.model);
}

/**
 * Server-side tool calls billed per call (web and file searches) allowed per request when the client set
 * no cap: the gateway sends this cap upstream, so the credit hold is a true upper bound.
 */
export const DEFAULT_SERVER_TOOL_CALLS = 10;

/** Context window assumed for a model that declares none, when a request's input cannot be bounded otherwise. */
const UNKNOWN_MODEL_CONTEXT = 2_000_000;

/**
 * The input bound on one route: text bytes plus each image at the route's ceiling; for input the
 * gateway cannot bound by its bytes (documents: a PDF page's text and image cost more than its
 * compressed bytes), the model's context window — more can never be sent; and at most the window
 * where the provider refuses more (`withinContext`: audio tokens of a transcription).
 */
export function inputTokensOn(route: Pick<RouteInfo, "format" | "model" | "contextWindow">, bound: InputBound): number {
  const counted = bound.tokens + (bound.images ? bound.images * imageTokenCeiling(route) : 0);
  if (bound.unbounded) return Math.max(counted, route.contextWindow ?? UNKNOWN_MODEL_CONTEXT);
  if (bound.withinContext && route.contextWindow !== undefined) return Math.min(counted, route.contextWindow);
  return counted;
}

/** Output limit assumed for a model that declares none (a custom model without limits), when the request sets none. */
const UNKNOWN_MODEL_OUTPUT = 32_768;

/**
 * Upper bound of the output tokens on one route: `choices` × the limit the request
 * asked for, or, when it set none, what the route will send (an adapter with a
 * default max_tokens, such as Anthropic's, sends it) else the model's maximum output,
 * else its context window; never more than the model can give.
 */
export function outputTokensOn(
  route: Pick<RouteInfo, "format" | "maxOutputTokens" | "contextWindow">,
  asked: number | null,
  choices: number,
): number {
  let limit = route.maxOutputTokens ?? route.contextWindow ?? UNKNOWN_MODEL_OUTPUT;
  if (asked !== null) limit = asked < limit ? asked : limit;
  else {
    const sent = formatDescriptor(route.format).defaultMaxOutputTokens;
    if (sent !== undefined && sent < limit) limit = sent;
  }
  return choices * limit;
}

/** A rough count of a request's input tokens, where the provider never reported usage. */
export function estimateInputTokens(req: ChatRequest): number {
  let tokens = 3;
  for (const m of req.messages) {
    tokens += 4;
    const c = (m as { content?: unknown }).content;
    if (typeof c === "string") tokens += estimateTextTokens(c);
    else if (Array.isArray(c)) {
      for (const p of c as Array<{ type?: string; text?: string }>) {
        if (p.type === "text" && typeof p.text === "string") tokens += estimateTextTokens(p.text);
        else tokens += 1_000;
      }
    }
    const calls = (m as { tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> }).tool_calls;
    for (const call of calls ?? [])
      tokens += estimateTextTokens((call.function?.name ?? "") + (call.function?.arguments ?? ""));
  }
  if (req.tools?.length) tokens += estimateTextTokens(JSON.stringify(req.tools));
  return tokens;
}

/** Upper bound of an embeddings input: text by its UTF-8 bytes, token-id arrays by their length. */
export function embeddingsInputBound(input: EmbeddingsRequest["input"]): InputBound {
  if (typeof input === "string") return { tokens: PER_MESSAGE + bytes(input), images: 0 };
  let tokens = 0;
  for (const x of input as unknown[]) {
    tokens += PER_MESSAGE;
    if (typeof x === "string") tokens += bytes(x);
    else if (Array.isArray(x)) tokens += x.length;
    else tokens += 1;
  }
  return { tokens, images: 0 };
}

/** The usage of a call the provider reported none for (or that ended early): estimated from what was sent and generated. */
export function estimateUsage(req: ChatRequest, generated: string): Usage {
  return {
    inputTokens: estimateInputTokens(req),
    cachedInputTokens: 0,
    outputTokens: estimateTextTokens(generated),
    estimated: true,
  };
}
