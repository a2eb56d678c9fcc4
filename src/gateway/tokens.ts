/**
 * Token estimates, used where the provider has not (yet) reported usage: the
 * worst-case reservation before a call and the bill of an aborted stream.
 * ~4 characters per token for text, a flat cost per image — deliberately a
 * little high, since an estimate that reserves too little can overspend.
 */
import type { ChatRequest } from "./types.js";

const IMAGE_TOKENS = 1_000;
const PER_MESSAGE = 4;

export const estimateTextTokens = (text: string): number => Math.ceil(text.length / 3.5);

export function estimateInputTokens(req: ChatRequest): number {
  let tokens = 3;
  for (const m of req.messages) {
    tokens += PER_MESSAGE;
    const c = (m as { content?: unknown }).content;
    if (typeof c === "string") tokens += estimateTextTokens(c);
    else if (Array.isArray(c)) {
      for (const p of c as Array<{ type?: string; text?: string }>) {
        if (p.type === "text" && typeof p.text === "string") tokens += estimateTextTokens(p.text);
        else tokens += IMAGE_TOKENS;
      }
    }
    const calls = (m as { tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> }).tool_calls;
    for (const call of calls ?? []) tokens += estimateTextTokens((call.function?.name ?? "") + (call.function?.arguments ?? ""));
  }
  if (req.tools?.length) tokens += estimateTextTokens(JSON.stringify(req.tools));
  return tokens;
}
