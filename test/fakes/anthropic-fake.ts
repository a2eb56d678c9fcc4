/**
 * A faithful local fake of Anthropic's Messages API (POST /v1/messages, and
 * POST /v1/messages/count_tokens with a deterministic count):
 * x-api-key (or Bearer) + anthropic-version checks, the API's request rules (max_tokens
 * required, user first, strict alternation, tool_result must answer the
 * previous turn's tool_use ids), JSON responses with content blocks and
 * usage incl. cache_read_input_tokens, and the SSE event sequence
 * message_start → ping → content_block_start/delta/stop… → message_delta →
 * message_stop. Errors use `{"type":"error","error":{type,message}}`.
 * Thinking (`thinking` enabled with a budget, or adaptive) is checked as the
 * API checks it (budget ≥ 1024 and < max_tokens, no temperature but 1, top_p
 * 0.95–1, no forced tool with a budget, a tool loop's assistant turn must
 * start with a thinking block whose signature the fake issued) and answered
 * with a signed thinking block first (streamed as thinking_delta then
 * signature_delta); its words count as output tokens.
 */
import { createHash } from "node:crypto";
import { startFake, sseData, type FakeServer } from "./base.js";
import { fragments, pieces, planReply, type View } from "./script.js";

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};
export const anthropicError = (status: number, message: string) => ({
  type: "error",
  error: { type: ERROR_TYPES[status] ?? "api_error", message },
});

const blocksOf = (c: any): any[] => (typeof c === "string" ? [{ type: "text", text: c }] : c);
const textOf = (c: any): string =>
  blocksOf(c)
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join("");

function validate(b: any): string | undefined {
  if (!b || typeof b.model !== "string") return "model: Field required";
  if (!Number.isInteger(b.max_tokens) || b.max_tokens < 1) return "max_tokens: Field required";
  if (!Array.isArray(b.messages) || !b.messages.length) return "messages: at least one message is required";
  if (b.temperature !== undefined && (b.temperature < 0 || b.temperature > 1)) return "temperature: range: 0..1";
  let prevRole = "";
  let prevToolUses = new Set<string>();
  for (const [i, m] of b.messages.entries()) {
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i === 0 && m.role !== "user") return 'messages: first message must use the "user" role';
    if (m.role === prevRole) return 'messages: roles must alternate between "user" and "assistant"';
    const blocks = blocksOf(m.content);
    if (!blocks.length) return `messages.${i}: all messages must have non-empty content`;
    for (const bl of blocks) {
      if (bl.type === "tool_result" && !prevToolUses.has(bl.tool_use_id)) {
        return `messages.${i}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${bl.tool_use_id}`;
      }
    }
    prevToolUses = new Set(blocks.filter((bl: any) => bl.type === "tool_use").map((bl: any) => bl.id));
    prevRole = m.role;
  }
  if (b.tool_choice?.type === "tool" && !(b.tools ?? []).some((t: any) => t.name === b.tool_choice.name))
    return "tool_choice: tool not found";
  return undefined;
}

/** The fake's signature of a thinking text: a digest it can check when the block comes back. */
export const fakeThinkingSignature = (thinking: string) =>
  `fake-sig-${createHash("sha256").update(thinking).digest("base64url")}`;

const thinkingOn = (b: any) => b.thinking?.type === "enabled" || b.thinking?.type === "adaptive";

function validateThinking(b: any): string | undefined {
  const t = b.thinking;
  if (t === undefined || t.type === "disabled") return undefined;
  if (t.type === "enabled") {
    if (!Number.isInteger(t.budget_tokens) || t.budget_tokens < 1024)
      return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
    if (t.budget_tokens >= b.max_tokens) return "`max_tokens` must be greater than `thinking.budget_tokens`.";
    if (b.tool_choice?.type === "any" || b.tool_choice?.type === "tool")
      return "Thinking may not be enabled when `tool_choice` forces tool use.";
  } else if (t.type !== "adaptive") return "thinking.type: Input tag does not match any of the expected tags";
  if (b.temperature !== undefined && b.temperature !== 1)
    return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking";
  if (b.top_k !== undefined) return "`top_k` must be unset when thinking is enabled.";
  if (b.top_p !== undefined && b.top_p < 0.95)
    return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.";
  for (const [i, m] of b.messages.entries())
    for (const [j, bl] of blocksOf(m.content).entries())
      if (bl.type === "thinking" && bl.signature !== fakeThinkingSignature(String(bl.thinking)))
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
  // In a tool loop (the request answers tool calls), the turn's first assistant message — the one after
  // the last user message that is not only tool results — must open with the turn's thinking.
  const msgs: any[] = b.messages;
  const last = msgs[msgs.length - 1];
  const loop = last?.role === "user" && blocksOf(last.content).some((x: any) => x.type === "tool_result");
  let at = msgs.length - 1;
  while (
    at > 0 &&
    (msgs[at].role === "assistant" || blocksOf(msgs[at].content).every((x: any) => x.type === "tool_result"))
  )
    at--;
  const first = msgs[at + 1]?.role === "assistant" ? blocksOf(msgs[at + 1].content)[0] : undefined;
  if (loop && first && first.type !== "thinking" && first.type !== "redacted_thinking")
    return `messages.${at + 1}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`;
  return undefined;
}

export function viewFromAnthropic(b: any): View {
  const system = typeof b.system === "string" ? b.system : (b.system ?? []).map((x: any) => x.text).join("\n\n");
  const msgs: any[] = b.messages;
  const users = msgs.filter((m) => m.role === "user" && blocksOf(m.content).some((x) => x.type !== "tool_result"));
  const last = msgs[msgs.length - 1];
  const toolResults =
    last.role === "user"
      ? blocksOf(last.content)
          .filter((x) => x.type === "tool_result")
          .map((x) => (typeof x.content === "string" ? x.content : textOf(x.content ?? [])))
      : [];
  let image: string | undefined;
  for (const m of users)
    for (const x of blocksOf(m.content)) {
      if (x.type === "image") image ??= x.source.type === "base64" ? x.source.media_type : x.source.url;
    }
  const tc = b.tool_choice;
  return {
    system,
    userTurns: users.length,
    lastUserText: users.length ? textOf(users[users.length - 1].content) : "",
    toolResults,
    tools: (b.tools ?? []).map((t: any) => ({ name: t.name, schema: t.input_schema })),
    toolChoice:
      !tc || tc.type === "auto"
        ? "auto"
        : tc.type === "none"
          ? "none"
          : tc.type === "any"
            ? "required"
            : { name: tc.name },
    parallel: !tc?.disable_parallel_tool_use,
    wantsJson: false,
    image,
    stop: b.stop_sequences ?? [],
    maxTokens: b.max_tokens,
    totalChars: system.length + msgs.reduce((s, m) => s + textOf(m.content).length, 0),
  };
}

/** The fake's token count: one per character of system and message text, 3 per message, 50 per tool. */
const anthropicFakeCount = (b: any): number =>
  viewFromAnthropic(b).totalChars + 3 * b.messages.length + 50 * (b.tools?.length ?? 0);

/** POST /v1/messages/count_tokens: the Messages body without max_tokens (the API refuses extra inputs). */
function countTokens(json: (status: number, body: unknown) => void, b: any) {
  if (!b || typeof b.model !== "string") return json(400, anthropicError(400, "model: Field required"));
  for (const extra of ["max_tokens", "stream", "temperature", "metadata"])
    if (extra in b) return json(400, anthropicError(400, `${extra}: Extra inputs are not permitted`));
  const problem = validate({ ...b, max_tokens: 1 });
  if (problem) return json(400, anthropicError(400, problem));
  json(200, { input_tokens: anthropicFakeCount(b) });
}

export interface AnthropicFakeOptions {
  apiKey?: string;
  /**
   * The usage object to report instead of the planned one (read per request). Streams
   * send it in message_start (output_tokens 1, no server_tool_use) and its output_tokens
   * and server_tool_use in message_delta, as the API does.
   */
  usage?: Record<string, unknown>;
}

export function startAnthropicFake(o: AnthropicFakeOptions = {}): Promise<FakeServer> {
  return startFake(async (ctx) => {
    const { req, body } = ctx;
    // The API takes the key as x-api-key, or as a Bearer token (what @anthropic-ai/sdk 1.x sends).
    const key = req.headers["x-api-key"] ?? String(req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (o.apiKey !== undefined && key !== o.apiKey) return ctx.json(401, anthropicError(401, "invalid x-api-key"));
    if (!req.headers["anthropic-version"])
      return ctx.json(400, anthropicError(400, "anthropic-version: header is required"));
    if (ctx.path === "/v1/messages/count_tokens") return countTokens(ctx.json, body);
    if (ctx.path !== "/v1/messages") return ctx.json(404, anthropicError(404, "Not found"));
    const problem = validate(body) ?? validateThinking(body);
    if (problem) return ctx.json(400, anthropicError(400, problem));

    const view = viewFromAnthropic(body);
    const plan = planReply(view, "toolu_fake");
    const thought = thinkingOn(body) ? `Thinking about: ${view.lastUserText || "the tool results"}` : "";
    const thoughtTokens = thought ? thought.split(" ").length : 0;
    const stopReason =
      plan.finish === "stop"
        ? "end_turn"
        : plan.finish === "length"
          ? "max_tokens"
          : plan.finish === "tool_calls"
            ? "tool_use"
            : "stop_sequence";
    const usage: Record<string, unknown> = o.usage ?? {
      input_tokens: plan.usage.input - plan.usage.cached,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: plan.usage.cached,
      output_tokens: plan.usage.output + thoughtTokens,
    };
    const content: any[] = [];
    if (thought) content.push({ type: "thinking", thinking: thought, signature: fakeThinkingSignature(thought) });
    if (plan.text || !plan.toolCalls.length) content.push({ type: "text", text: plan.text });
    for (const t of plan.toolCalls) content.push({ type: "tool_use", id: t.id, name: t.name, input: t.args });
    const message = { id: "msg_fake01", type: "message", role: "assistant", model: body.model };
    if (!body.stream) {
      return ctx.json(
        200,
        { ...message, content, stop_reason: stopReason, stop_sequence: plan.stopSequence ?? null, usage },
        { "request-id": "req_fake" },
      );
    }
    const ev = (type: string, data: object) => sseData({ type, ...data }, type);
    const { server_tool_use: searches, ...startUsage } = usage;
    const events = [
      ev("message_start", {
        message: {
          ...message,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...startUsage, output_tokens: 1 },
        },
      }),
      ev("ping", {}),
    ];
    content.forEach((block, index) => {
      if (block.type === "thinking") {
        events.push(
          ev("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } }),
        );
        for (const p of pieces(block.thinking))
          events.push(ev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: p } }));
        events.push(
          ev("content_block_delta", { index, delta: { type: "signature_delta", signature: block.signature } }),
        );
      } else if (block.type === "text") {
        events.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }));
        for (const p of pieces(block.text))
          events.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: p } }));
      } else {
        events.push(
          ev("content_block_start", {
            index,
            content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
          }),
        );
        events.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } }));
        for (const f of fragments(JSON.stringify(block.input)))
          events.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: f } }));
      }
      events.push(ev("content_block_stop", { index }));
    });
    events.push(
      ev("message_delta", {
        delta: { stop_reason: stopReason, stop_sequence: plan.stopSequence ?? null },
        usage: { output_tokens: usage.output_tokens, ...(searches ? { server_tool_use: searches } : {}) },
      }),
    );
    events.push(ev("message_stop", {}));
    await ctx.sse(events);
  }, anthropicError);
}
