/**
 * Token counting without the provider: a chat request counted with OpenAI's
 * own tokenizers (the `gpt-tokenizer` package: pure JavaScript, its encodings
 * ship with it, nothing is downloaded) the way OpenAI's chat format counts
 * them — each message's role and text plus 3 tokens, 3 tokens priming the
 * answer, tool definitions rendered as OpenAI renders them for the model.
 * Used for OpenAI and OpenAI-compatible providers and `mock`, which have no
 * counting endpoint: the result is an estimate (OpenAI's count may differ by a
 * few tokens, most with tools).
 *
 * The encoding is the model's as the package knows it (`cl100k_base` for
 * gpt-3.5 and gpt-4, `o200k_base` for gpt-4o, gpt-4.1, gpt-5, the o-series);
 * a model it does not know (a custom provider's, mock's) is counted with
 * `o200k_base`, and `known` says so. Images are not decoded: each counts as
 * OpenAI bills a 1024×1024 image (765 tokens; 85 at `detail: "low"`).
 * Encodings load on first use (megabytes each), once per process.
 */
import type {
  ChatCompletionFunctionCallOption,
  ChatCompletionFunctionDefinition,
  ChatCompletionFunctionParameters,
  ChatMessage as TokenizerMessage,
} from "gpt-tokenizer/functionCalling";
import { computeChatCompletionTokenCount } from "gpt-tokenizer/functionCalling";
import { modelToEncodingMap } from "gpt-tokenizer/mapping";
import type { ChatRequest } from "./types.js";
import { contentText } from "./types.js";

type Encoding = "o200k_base" | "cl100k_base";

const ENCODINGS: Record<Encoding, () => Promise<{ countTokens: (text: string, o: object) => number }>> = {
  o200k_base: () => import("gpt-tokenizer/encoding/o200k_base"),
  cl100k_base: () => import("gpt-tokenizer/encoding/cl100k_base"),
};

/** Tokens of an image at high (or auto) detail: 85 + 4 tiles × 170, a 1024×1024 image on gpt-4o. */
const IMAGE_TOKENS = 765;
/** Tokens of an image at low detail, whatever its size. */
const LOW_DETAIL_IMAGE_TOKENS = 85;

/** Special tokens in the text are counted as the text they are (a prompt cannot send them as control tokens). */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** The encoding of a model (a name without a provider prefix): the package's, else `o200k_base` (`known: false`). */
function encodingFor(model: string): { encoding: Encoding; known: boolean } {
  const e = (modelToEncodingMap as Record<string, string | undefined>)[model];
  if (e === "cl100k_base") return { encoding: "cl100k_base", known: true };
  // o200k_harmony (gpt-oss) is o200k_base plus control tokens: the same count for text.
  if (e === "o200k_base" || e === "o200k_harmony") return { encoding: "o200k_base", known: true };
  // Dated or newer names the package has not listed yet.
  if (/^(gpt-4o|gpt-4\.[1-9]|gpt-[5-9]|o[1-9]|chatgpt-4o)/.test(model)) return { encoding: "o200k_base", known: true };
  if (/^gpt-(3\.5|4)(-|$)/.test(model)) return { encoding: "cl100k_base", known: true };
  return { encoding: "o200k_base", known: false };
}

const loaded = new Map<Encoding, Promise<(text: string) => number>>();

function counter(encoding: Encoding): Promise<(text: string) => number> {
  let c = loaded.get(encoding);
  if (!c) {
    c = ENCODINGS[encoding]().then((m) => (text: string) => m.countTokens(text, AS_TEXT));
    loaded.set(encoding, c);
  }
  return c;
}

/** The request as the tokenizer's chat messages (tool calls as function calls), and its images' tokens. */
function tokenizerInput(req: ChatRequest): { messages: TokenizerMessage[]; imageTokens: number } {
  const messages: TokenizerMessage[] = [];
  let imageTokens = 0;
  for (const m of req.messages) {
    if (Array.isArray(m.content))
      for (const p of m.content as ReadonlyArray<{ type: string; image_url?: { detail?: string } }>)
        if (p.type === "image_url")
          imageTokens += p.image_url?.detail === "low" ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
    const name = "name" in m && typeof m.name === "string" ? { name: m.name } : {};
    const base: TokenizerMessage = { role: m.role, content: contentText(m.content), ...name };
    const calls = m.role === "assistant" ? (m.tool_calls ?? []) : [];
    if (calls.length === 0) {
      messages.push(base);
      continue;
    }
    // One function call per message, as the format counts them: further calls add their own overhead.
    for (const [i, c] of calls.entries())
      messages.push({
        ...(i === 0 ? base : { role: "assistant", content: "" }),
        function_call: { name: c.function.name, arguments: c.function.arguments },
      });
  }
  return { messages, imageTokens };
}

function functionsOf(req: ChatRequest): ChatCompletionFunctionDefinition[] | undefined {
  if (!req.tools?.length) return undefined;
  return req.tools.map((t) => ({
    name: t.function.name,
    ...(t.function.description ? { description: t.function.description } : {}),
    ...(t.function.parameters
      ? { parameters: t.function.parameters as unknown as ChatCompletionFunctionParameters }
      : {}),
  }));
}

function functionCallOf(req: ChatRequest): ChatCompletionFunctionCallOption | undefined {
  const tc = req.tool_choice;
  if (tc === "none") return "none";
  if (tc && typeof tc === "object") return { name: tc.function.name };
  return undefined;
}

/** The input tokens of `req` on `model` (its upstream id) by the tokenizer: an estimate. */
export async function countWithTokenizer(
  req: ChatRequest,
  model: string,
): Promise<{ tokens: number; encoding: Encoding; known: boolean }> {
  const { encoding, known } = encodingFor(model);
  const count = await counter(encoding);
  const { messages, imageTokens } = tokenizerInput(req);
  const functions = functionsOf(req);
  const functionCall = functionCallOf(req);
  const tokens = computeChatCompletionTokenCount(
    { messages, ...(functions ? { functions } : {}), ...(functionCall ? { function_call: functionCall } : {}) },
    count,
  );
  return { tokens: tokens + imageTokens, encoding, known };
}
