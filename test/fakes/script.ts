/**
 * The fakes' shared, deterministic "model": every fake extracts the same
 * provider-neutral View from its own wire request and renders the Plan in its
 * own wire response, so one contract suite can assert the same outcomes for
 * every adapter. Rules (kept simple on purpose):
 * - last turn carries tool results → "Tool said: <results>";
 * - tools present, choice not none, and (choice forces a tool, or the prompt
 *   mentions "weather"/"tool") → tool call(s); "both" with parallel allowed → two calls;
 * - JSON requested → {"answer": <prompt>};
 * - else "echo: <prompt>", prefixed "[<system>] " when there is a system prompt,
 *   suffixed " [image:<ref>]" with an image and " (turns: N)" after several user turns;
 * - stop sequences cut the text (finish stop_sequence); max tokens cap words (finish length);
 * - usage: input = 10 + chars/4 (cached 8 of it when the system prompt mentions "cache"), output = words.
 */
export interface ToolDecl {
  name: string;
  schema: Record<string, any> | undefined;
}

export interface View {
  system: string;
  userTurns: number;
  lastUserText: string;
  toolResults: string[];
  tools: ToolDecl[];
  toolChoice: "auto" | "none" | "required" | { name: string };
  parallel: boolean;
  wantsJson: boolean;
  image?: string;
  stop: string[];
  maxTokens?: number;
  totalChars: number;
}

export interface Plan {
  text: string;
  toolCalls: Array<{ id: string; name: string; args: Record<string, unknown> }>;
  finish: "stop" | "length" | "tool_calls" | "stop_sequence";
  stopSequence?: string;
  usage: { input: number; cached: number; output: number };
}

const CITIES = ["Paris", "Tokyo"];

function argsFor(tool: ToolDecl, i: number, prompt: string): Record<string, unknown> {
  const props = tool.schema?.properties as Record<string, any> | undefined;
  if (!props || !Object.keys(props).length) return { answer: prompt };
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(props)) {
    out[k] =
      k === "city"
        ? CITIES[i % CITIES.length]
        : s?.type === "number" || s?.type === "integer" || s?.type === "NUMBER"
          ? 42
          : prompt;
  }
  return out;
}

export function planReply(v: View, idPrefix = "call_"): Plan {
  const input = 10 + Math.ceil(v.totalChars / 4);
  const cached = v.system.includes("cache") ? 8 : 0;
  const usage = (output: number) => ({ input, cached, output });
  if (v.toolResults.length) {
    const text = `Tool said: ${v.toolResults.join(" | ")}`;
    return { text, toolCalls: [], finish: "stop", usage: usage(text.split(" ").length) };
  }
  const wantsTool =
    v.tools.length > 0 &&
    v.toolChoice !== "none" &&
    (v.toolChoice === "required" || typeof v.toolChoice === "object" || /weather|tool/i.test(v.lastUserText));
  if (wantsTool) {
    let chosen =
      typeof v.toolChoice === "object"
        ? v.tools.filter((t) => t.name === (v.toolChoice as { name: string }).name)
        : [v.tools[0]!];
    if (typeof v.toolChoice !== "object" && v.parallel && /\bboth\b/i.test(v.lastUserText))
      chosen = [v.tools[0]!, v.tools[1] ?? v.tools[0]!];
    const toolCalls = chosen.map((t, i) => ({
      id: `${idPrefix}${i + 1}`,
      name: t.name,
      args: argsFor(t, i, v.lastUserText),
    }));
    return { text: "", toolCalls, finish: "tool_calls", usage: usage(5 * toolCalls.length) };
  }
  let text: string;
  if (v.wantsJson) text = JSON.stringify({ answer: v.lastUserText });
  else {
    text = `${v.system ? `[${v.system}] ` : ""}echo: ${v.lastUserText}`;
    if (v.image) text += ` [image:${v.image}]`;
    if (v.userTurns > 1) text += ` (turns: ${v.userTurns})`;
  }
  let finish: Plan["finish"] = "stop";
  let stopSequence: string | undefined;
  for (const s of v.stop) {
    const at = text.indexOf(s);
    if (s && at >= 0) {
      text = text.slice(0, at);
      finish = "stop_sequence";
      stopSequence = s;
      break;
    }
  }
  let words = text.split(/(?<= )/);
  if (v.maxTokens !== undefined && words.length > v.maxTokens) {
    words = words.slice(0, v.maxTokens);
    text = words.join("");
    finish = "length";
  }
  return { text, toolCalls: [], finish, ...(stopSequence ? { stopSequence } : {}), usage: usage(words.length) };
}

/** Splits text into stream pieces of about two words. */
export function pieces(text: string): string[] {
  const w = text.split(/(?<= )/);
  const out: string[] = [];
  for (let i = 0; i < w.length; i += 2) out.push(w.slice(i, i + 2).join(""));
  return out.length ? out : [""];
}

/** Splits a JSON string into a few fragments the way providers stream arguments. */
export function fragments(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 7) out.push(s.slice(i, i + 7));
  return out;
}
