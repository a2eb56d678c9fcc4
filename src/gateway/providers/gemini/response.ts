/**
 * Gemini generateContent answers (whole or one stream event): their shape,
 * finish reasons, and the text, thoughts (parts marked `thought`, present
 * when the request asked includeThoughts) and tool calls of a candidate.
 * Gemini may omit call ids: we mint them.
 */
import type { FinishReason, ToolCall } from "../../types.js";
import { newId } from "../http/index.js";
import type { UsageMetadata } from "./usage.js";

type Part = Record<string, unknown>;
interface Candidate {
  content?: { parts?: Part[] };
  finishReason?: string;
  index?: number;
}
export interface GenResponse {
  candidates?: Candidate[];
  usageMetadata?: UsageMetadata;
  promptFeedback?: { blockReason?: string };
  responseId?: string;
  modelVersion?: string;
  error?: unknown;
}

export function finishFromGemini(r: string | undefined, hasTools: boolean): FinishReason | null {
  if (!r) return null;
  if (hasTools) return "tool_calls";
  if (r === "STOP") return "stop";
  if (r === "MAX_TOKENS") return "length";
  if (/SAFETY|RECITATION|BLOCKLIST|PROHIBITED|SPII/.test(r)) return "content_filter";
  return "stop";
}

export function partsOf(c: Candidate): { text: string; reasoning: string; calls: ToolCall[] } {
  let text = "";
  let reasoning = "";
  const calls: ToolCall[] = [];
  for (const p of c.content?.parts ?? []) {
    if (typeof p.text === "string" && p.thought === true) reasoning += p.text;
    else if (typeof p.text === "string") text += p.text;
    const fc = p.functionCall as { name?: string; args?: unknown; id?: string } | undefined;
    if (fc?.name)
      calls.push({
        id: fc.id ?? newId("call_"),
        type: "function",
        function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) },
      });
  }
  return { text, reasoning, calls };
}
