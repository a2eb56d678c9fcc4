/**
 * The built-in `mock` provider, so Tollgate can be tried with no provider
 * account: `mock/echo` replies with the last user message, `mock/lorem` with
 * deterministic lorem ipsum sized by max_tokens (the media models are in
 * media.ts). Invariants:
 * - Deterministic output for a given request (no randomness, no network).
 * - Honours stream (word-by-word chunks with small delays), tools (echoes a
 *   call when tools are present and the prompt asks, or tool_choice forces
 *   it), JSON mode, stop, max_tokens (finish "length"), n.
 * - Usage is a simple estimate (≈4 characters per token), always reported,
 *   and the stream ends with the same trailing usage chunk real adapters emit.
 * - The caller's abort signal ends a stream at once with an `aborted` error.
 */
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  EmbeddingsRequest,
  FinishReason,
  FunctionTool,
  ToolCall,
  Usage,
} from "../../types.js";
import type { CallSignal } from "../../abort.js";
import { contentText, usageToOpenAI } from "../../types.js";
import { newId } from "../http/wire.js";
import { mockMedia } from "./media.js";
import {
  UpstreamError,
  type CallOptions,
  type ChatResult,
  type EmbeddingsResult,
  type ProviderAdapter,
  type UpstreamTarget,
} from "../types.js";

/** Models the mock chats with (it embeds with `embed` and `echo`). */
const CHAT_MODELS = ["echo", "lorem"] as const;
const LOREM = (
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore " +
  "magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat"
).split(" ");

export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

interface Plan {
  text: string;
  toolCalls: ToolCall[];
  finish: FinishReason;
}

function argsFor(tool: FunctionTool, prompt: string): Record<string, unknown> {
  const props = (tool.function.parameters?.properties ?? {}) as Record<string, { type?: unknown; enum?: unknown[] }>;
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(props)) {
    if (Array.isArray(s?.enum) && s.enum.length) out[name] = s.enum[0];
    else if (s?.type === "number" || s?.type === "integer") out[name] = 1;
    else if (s?.type === "boolean") out[name] = true;
    else if (s?.type === "array") out[name] = [];
    else if (s?.type === "object") out[name] = {};
    else out[name] = prompt;
  }
  return out;
}

function plan(req: ChatRequest, model: string): Plan {
  const last = req.messages[req.messages.length - 1];
  const lastUser = [...req.messages].reverse().find((m) => m.role === "user");
  const prompt = lastUser ? contentText(lastUser.content as never) : "";
  const tools = req.tools ?? [];
  const tc = req.tool_choice;
  if (last?.role === "tool")
    return { text: `Tool result received: ${contentText(last.content)}`, toolCalls: [], finish: "stop" };
  const asked =
    /\b(tool|tools|call|use|function)\b/i.test(prompt) || tools.some((t) => prompt.includes(t.function.name));
  if (tools.length && tc !== "none" && (tc === "required" || typeof tc === "object" || asked)) {
    let chosen =
      typeof tc === "object"
        ? tools.filter((t) => t.function.name === tc.function.name)
        : tools.filter((t) => prompt.includes(t.function.name));
    if (!chosen.length) chosen = [tools[0]!];
    if (req.parallel_tool_calls === false) chosen = chosen.slice(0, 1);
    const toolCalls = chosen.map((t, i) => ({
      id: `call_mock_${i}`,
      type: "function" as const,
      function: { name: t.function.name, arguments: JSON.stringify(argsFor(t, prompt)) },
    }));
    return { text: "", toolCalls, finish: "tool_calls" };
  }
  const max = req.max_completion_tokens ?? req.max_tokens ?? undefined;
  let words =
    model === "lorem"
      ? Array.from({ length: max ?? 50 }, (_, i) => LOREM[i % LOREM.length]!)
      : (prompt || "(empty message)").split(/(?<=\s)/);
  let finish: FinishReason = "stop";
  if (max != null && words.length > max) {
    words = words.slice(0, max);
    finish = "length";
  }
  let text = model === "lorem" ? words.join(" ") : words.join("");
  const rf = req.response_format;
  if (rf && rf.type !== "text") text = JSON.stringify({ reply: text });
  for (const s of typeof req.stop === "string" ? [req.stop] : (req.stop ?? [])) {
    const at = s ? text.indexOf(s) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      finish = "stop";
    }
  }
  return { text, toolCalls: [], finish };
}

function usageOf(req: ChatRequest, p: Plan): Usage {
  const promptChars = req.messages.reduce((s, m) => s + contentText((m.content ?? "") as never).length + 4, 0);
  const out = p.text.length + p.toolCalls.reduce((s, t) => s + t.function.name.length + t.function.arguments.length, 0);
  return {
    inputTokens: Math.ceil(promptChars / 4),
    cachedInputTokens: 0,
    outputTokens: Math.max(1, Math.ceil(out / 4)),
    estimated: true,
  };
}

const abortedError = () => new UpstreamError("aborted", "mock request aborted by the caller");

function sleep(ms: number, signal: CallSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortedError());
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortedError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function createMockAdapter(o: { chunkDelayMs?: number } = {}): ProviderAdapter {
  const delay = o.chunkDelayMs ?? 25;
  const check = (target: UpstreamTarget) => {
    if (!(CHAT_MODELS as readonly string[]).includes(target.model)) {
      throw new UpstreamError("http", `mock has no model "${target.model}" (try mock/echo or mock/lorem)`, {
        status: 404,
        upstreamCode: "model_not_found",
      });
    }
  };
  return {
    format: "mock",
    ...mockMedia(),
    async chat(req: ChatRequest, target: UpstreamTarget, opts: CallOptions): Promise<ChatResult> {
      check(target);
      if (opts.signal.aborted) throw abortedError();
      const p = plan(req, target.model);
      const usage = usageOf(req, p);
      const n = Math.max(1, req.n ?? 1);
      const id = newId("chatcmpl-mock");
      const created = Math.floor(Date.now() / 1000);
      const model = `mock/${target.model}`;
      if (!req.stream) {
        const response: ChatResponse = {
          id,
          object: "chat.completion",
          created,
          model,
          choices: Array.from({ length: n }, (_, index) => ({
            index,
            message: {
              role: "assistant",
              content: p.toolCalls.length ? null : p.text,
              ...(p.toolCalls.length ? { tool_calls: p.toolCalls } : {}),
              refusal: null,
            },
            finish_reason: p.finish,
            logprobs: null,
          })),
          usage: usageToOpenAI(usage),
        };
        return { kind: "response", response, usage };
      }
      let reported: Usage | undefined;
      async function* chunks(): AsyncGenerator<ChatChunk, void, undefined> {
        const base = { id, object: "chat.completion.chunk" as const, created, model };
        const one = (delta: ChatChunk["choices"][0]["delta"], finish: FinishReason | null = null): ChatChunk => ({
          ...base,
          choices: Array.from({ length: n }, (_, index) => ({ index, delta, finish_reason: finish })),
        });
        yield one({ role: "assistant", content: "" });
        for (const piece of p.text.match(/\S+\s*|\s+/g) ?? []) {
          await sleep(delay, opts.signal);
          yield one({ content: piece });
        }
        for (const [index, tc] of p.toolCalls.entries()) {
          await sleep(delay, opts.signal);
          yield one({
            tool_calls: [{ index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } }],
          });
          const a = tc.function.arguments;
          for (let i = 0; i < a.length; i += 12)
            yield one({ tool_calls: [{ index, function: { arguments: a.slice(i, i + 12) } }] });
        }
        yield one({}, p.finish);
        reported = usage;
        yield { ...base, choices: [], usage: usageToOpenAI(usage) };
      }
      return { kind: "stream", stream: chunks(), usage: () => reported };
    },

    async embeddings(req: EmbeddingsRequest, target: UpstreamTarget): Promise<EmbeddingsResult> {
      if (target.model !== "echo" && target.model !== "embed") {
        throw new UpstreamError("http", `mock has no embeddings model "${target.model}" (try mock/embed)`, {
          status: 404,
        });
      }
      const inputs = (typeof req.input === "string" ? [req.input] : req.input).map((x) =>
        typeof x === "string" ? x : JSON.stringify(x),
      );
      const dims = req.dimensions ?? 16;
      const data = inputs.map((text, index) => {
        let h = 2166136261;
        const v = Array.from({ length: dims }, (_, d) => {
          for (let i = 0; i < text.length; i++) h = Math.imul(h ^ (text.charCodeAt(i) + d), 16777619);
          return ((h >>> 0) / 0xffffffff) * 2 - 1;
        });
        const norm = Math.hypot(...v) || 1;
        const embedding = v.map((x) => x / norm);
        return {
          object: "embedding" as const,
          index,
          embedding:
            req.encoding_format === "base64"
              ? Buffer.from(new Float32Array(embedding).buffer).toString("base64")
              : embedding,
        };
      });
      const tokens = inputs.reduce((s, t) => s + estimateTokens(t), 0);
      return {
        response: {
          object: "list",
          data,
          model: `mock/${target.model}`,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        },
        usage: { inputTokens: tokens, cachedInputTokens: 0, outputTokens: 0, estimated: true },
      };
    },
  };
}
