/**
 * A stored request or answer as a chat transcript: the turns (system, user, assistant, tool) of the
 * OpenAI chat, Anthropic Messages and Responses API shapes, and the input of the other endpoints, with
 * tool calls named and their arguments parsed. Null when a body has none of these shapes (the drawer
 * then shows its JSON).
 */

export interface ToolCall {
  name: string;
  id?: string;
  /** The arguments: parsed JSON when they are JSON text, else as stored. */
  args: unknown;
}

export interface Turn {
  role: string;
  text: string;
  toolCalls: ToolCall[];
  /** The call a tool turn answers. */
  toolCallId?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** A body the log cut at its size cap: `{ truncated: true, preview }`. */
export function truncatedPreview(body: unknown): string | null {
  return isObj(body) && body.truncated === true && typeof body.preview === "string" ? body.preview : null;
}

/** JSON text as its value; anything else (or text that is not JSON) as it is. */
function parsedArgs(v: unknown): unknown {
  if (typeof v !== "string") return v ?? {};
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Text that is a JSON object or array (a tool's result, often), as its value; else undefined. */
export function jsonText(text: string): unknown {
  const t = text.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

const turn = (role: string, text = "", toolCalls: ToolCall[] = [], toolCallId?: string): Turn => ({
  role,
  text,
  toolCalls,
  ...(toolCallId ? { toolCallId } : {}),
});

/** The text of a message's content: a string, or parts (text kept, other media named). */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return content === null || content === undefined ? "" : JSON.stringify(content);
  const out: string[] = [];
  for (const part of content) {
    if (typeof part === "string") out.push(part);
    else if (isObj(part)) {
      const text = str(part.text) ?? str(part.thinking) ?? str(part.refusal);
      if (text !== undefined) out.push(text);
      else if (part.type !== "tool_use" && part.type !== "tool_result") out.push(`[${str(part.type) ?? "part"}]`);
    }
  }
  return out.join("\n");
}

/** An OpenAI chat message (tool calls in `tool_calls`, tool answers with role "tool"). */
function openaiMessage(m: Obj): Turn {
  const calls = Array.isArray(m.tool_calls)
    ? m.tool_calls.filter(isObj).map((c) => {
        const fn = isObj(c.function) ? c.function : {};
        return { name: str(fn.name) ?? "tool", id: str(c.id), args: parsedArgs(fn.arguments) };
      })
    : [];
  return turn(str(m.role) ?? "user", contentText(m.content), calls, str(m.tool_call_id));
}

/** An Anthropic message: tool_use blocks are calls; each tool_result block is a tool turn of its own. */
function anthropicMessage(m: Obj): Turn[] {
  const role = str(m.role) ?? "user";
  if (!Array.isArray(m.content)) return [turn(role, contentText(m.content))];
  const blocks = m.content.filter(isObj);
  const out: Turn[] = [];
  for (const r of blocks.filter((b) => b.type === "tool_result"))
    out.push(turn("tool", contentText(r.content), [], str(r.tool_use_id)));
  const calls = blocks
    .filter((b) => b.type === "tool_use")
    .map((b) => ({ name: str(b.name) ?? "tool", id: str(b.id), args: b.input ?? {} }));
  const text = contentText(blocks.filter((b) => b.type !== "tool_result"));
  if (text || calls.length) out.push(turn(role, text, calls));
  return out;
}

/** Items of the Responses API (`input`, `output`): messages, function calls and their outputs. */
function responsesItems(items: unknown[], defaultRole: string): Turn[] {
  const out: Turn[] = [];
  for (const item of items) {
    if (typeof item === "string") out.push(turn(defaultRole, item));
    if (!isObj(item)) continue;
    if (item.type === "function_call")
      out.push(
        turn("assistant", "", [
          { name: str(item.name) ?? "tool", id: str(item.call_id), args: parsedArgs(item.arguments) },
        ]),
      );
    else if (item.type === "function_call_output")
      out.push(
        turn("tool", typeof item.output === "string" ? item.output : contentText(item.output), [], str(item.call_id)),
      );
    else if (item.type === "reasoning") continue;
    else if (item.role !== undefined || item.type === "message")
      out.push(turn(str(item.role) ?? defaultRole, contentText(item.content)));
  }
  return out;
}

/** The turns a request asked with; null for a body of another shape. */
export function requestTurns(endpoint: string, body: unknown): Turn[] | null {
  if (!isObj(body)) return null;
  const out: Turn[] = [];
  const system = body.system ?? body.instructions;
  if (system !== undefined && system !== null) out.push(turn("system", contentText(system)));
  if (Array.isArray(body.messages)) {
    const messages = body.messages.filter(isObj);
    for (const m of messages) {
      if (endpoint === "messages") out.push(...anthropicMessage(m));
      else out.push(openaiMessage(m));
    }
    return out;
  }
  if (endpoint === "responses") {
    if (typeof body.input === "string") out.push(turn("user", body.input));
    else if (Array.isArray(body.input)) out.push(...responsesItems(body.input, "user"));
    return out;
  }
  // Embeddings, moderations, speech: `input`; images: `prompt`.
  const input = body.input ?? body.prompt;
  if (typeof input === "string") return [turn("user", input)];
  if (Array.isArray(input) && input.every((i) => typeof i === "string")) return input.map((i) => turn("user", i));
  return null;
}

/** The turns of an answer; null for a body of another shape (embeddings, images, an error). */
export function responseTurns(body: unknown): Turn[] | null {
  // A streamed answer is kept as the text the client received.
  if (typeof body === "string") return [turn("assistant", body)];
  if (!isObj(body)) return null;
  if (Array.isArray(body.choices)) {
    const turns = body.choices
      .filter(isObj)
      .map((c) => (isObj(c.message) ? openaiMessage({ role: "assistant", ...c.message }) : null))
      .filter((t): t is Turn => t !== null);
    return turns.length ? turns : null;
  }
  if (body.type === "message" && Array.isArray(body.content))
    return anthropicMessage({ role: "assistant", content: body.content });
  if (Array.isArray(body.output)) {
    const turns = responsesItems(body.output, "assistant");
    return turns.length ? turns : null;
  }
  return null;
}
