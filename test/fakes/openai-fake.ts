/**
 * A faithful local fake of the OpenAI API subset Tollgate uses:
 * POST /v1/chat/completions (JSON and SSE: role chunk, content deltas,
 * tool_call deltas with id/name first then argument fragments, finish chunk,
 * the usage-only chunk when stream_options.include_usage, then `data: [DONE]`)
 * and POST /v1/embeddings. Errors use OpenAI's `{"error":{message,type,param,code}}`.
 * `variant: "compatible"` mimics common OpenAI-compatible servers (vLLM,
 * Together, Fireworks…): usage rides on the final choice chunk and
 * stream_options is ignored.
 */
import { startFake, sseData, type FakeServer } from "./base.js";
import { fragments, pieces, planReply, type View } from "./script.js";

export interface OpenAIFakeOptions {
  apiKey?: string;
  variant?: "openai" | "compatible";
  /** The usage object to report instead of the planned one (read per request, so a test may change it). */
  usage?: Record<string, unknown>;
}

const text = (c: any): string =>
  typeof c === "string"
    ? c
    : Array.isArray(c)
      ? c
          .filter((p) => p?.type === "text")
          .map((p) => p.text)
          .join("")
      : "";

function openaiError(status: number, message: string) {
  const type =
    status === 429
      ? "rate_limit_exceeded"
      : status === 401
        ? "invalid_request_error"
        : status >= 500
          ? "server_error"
          : "invalid_request_error";
  return { error: { message, type, param: null, code: status === 401 ? "invalid_api_key" : null } };
}

export function viewFromOpenAI(b: any): View {
  const msgs: any[] = b.messages;
  const system = msgs
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => text(m.content))
    .join("\n\n");
  const users = msgs.filter((m) => m.role === "user");
  const toolResults: string[] = [];
  for (let i = msgs.length - 1; i >= 0 && msgs[i].role === "tool"; i--) toolResults.unshift(text(msgs[i].content));
  let image: string | undefined;
  for (const m of users)
    for (const p of Array.isArray(m.content) ? m.content : []) {
      if (p.type === "image_url")
        image ??= String(p.image_url.url).startsWith("data:")
          ? /^data:([^;,]+)/.exec(p.image_url.url)?.[1]
          : p.image_url.url;
    }
  const tc = b.tool_choice;
  return {
    system,
    userTurns: users.length,
    lastUserText: users.length ? text(users[users.length - 1].content) : "",
    toolResults,
    tools: (b.tools ?? []).map((t: any) => ({ name: t.function.name, schema: t.function.parameters })),
    toolChoice: tc === undefined ? "auto" : typeof tc === "string" ? (tc as "auto") : { name: tc.function.name },
    parallel: b.parallel_tool_calls !== false,
    wantsJson: b.response_format?.type === "json_object" || b.response_format?.type === "json_schema",
    image,
    stop: b.stop == null ? [] : typeof b.stop === "string" ? [b.stop] : b.stop,
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
    totalChars: msgs.reduce((s, m) => s + text(m.content).length, 0),
  };
}

function validate(b: any): string | undefined {
  if (!b || typeof b.model !== "string") return "you must provide a model parameter";
  if (!Array.isArray(b.messages) || !b.messages.length) return "'messages' must be a non-empty array";
  const ids = new Set<string>();
  for (const [i, m] of b.messages.entries()) {
    if (!["system", "developer", "user", "assistant", "tool"].includes(m.role))
      return `Invalid value for 'messages[${i}].role'`;
    for (const tc of m.tool_calls ?? []) ids.add(tc.id);
    if (m.role === "tool" && !ids.has(m.tool_call_id))
      return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`;
  }
  if (b.stream_options && !b.stream) return "The 'stream_options' parameter is only allowed when 'stream' is enabled.";
  return undefined;
}

export function startOpenAIFake(o: OpenAIFakeOptions = {}): Promise<FakeServer> {
  const variant = o.variant ?? "openai";
  return startFake(async (ctx) => {
    const { req, body } = ctx;
    if (o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`) {
      const got = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
      return ctx.json(
        401,
        openaiError(
          401,
          `Incorrect API key provided: ${got}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        ),
      );
    }
    if (ctx.path === "/v1/embeddings") {
      const inputs: unknown[] = typeof body?.input === "string" ? [body.input] : (body?.input ?? []);
      const dims = body?.dimensions ?? 8;
      const data = inputs.map((inp, index) => {
        const v = Array.from({ length: dims }, (_, d) => ((String(inp).length + d) % 10) / 10);
        return {
          object: "embedding",
          index,
          embedding: body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
        };
      });
      const tokens = inputs.reduce<number>((s, x) => s + Math.ceil(String(x).length / 4), 0);
      return ctx.json(200, {
        object: "list",
        data,
        model: body.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }
    if (ctx.path !== "/v1/chat/completions")
      return ctx.json(404, openaiError(404, `Unknown request URL: POST ${ctx.path}`));
    const problem = validate(body);
    if (problem) return ctx.json(400, openaiError(400, problem));

    const plan = planReply(viewFromOpenAI(body), "call_oa");
    const n = body.n ?? 1;
    const finish = plan.finish === "stop_sequence" ? "stop" : plan.finish;
    const usage = o.usage ?? {
      prompt_tokens: plan.usage.input,
      completion_tokens: plan.usage.output,
      total_tokens: plan.usage.input + plan.usage.output,
      prompt_tokens_details: { cached_tokens: plan.usage.cached, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const toolCalls = plan.toolCalls.map((t) => ({
      id: t.id,
      type: "function",
      function: { name: t.name, arguments: JSON.stringify(t.args) },
    }));
    const base = { id: "chatcmpl-fake123", created: 1_700_000_000, model: body.model, system_fingerprint: "fp_fake" };
    if (!body.stream) {
      return ctx.json(200, {
        ...base,
        object: "chat.completion",
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: {
            role: "assistant",
            content: toolCalls.length ? null : plan.text,
            refusal: null,
            ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
            annotations: [],
          },
          logprobs: null,
          finish_reason: finish,
        })),
        usage,
        service_tier: "default",
      });
    }
    const includeUsage = variant === "openai" && body.stream_options?.include_usage === true;
    const chunk = (delta: object, finish_reason: string | null = null, extra: object = {}) =>
      sseData({
        ...base,
        object: "chat.completion.chunk",
        choices: Array.from({ length: n }, (_, index) => ({ index, delta, logprobs: null, finish_reason })),
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      });
    const events = [chunk({ role: "assistant", content: "", refusal: null })];
    if (!toolCalls.length) for (const p of pieces(plan.text)) events.push(chunk({ content: p }));
    toolCalls.forEach((tc, index) => {
      events.push(
        chunk({
          tool_calls: [{ index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } }],
        }),
      );
      for (const f of fragments(tc.function.arguments))
        events.push(chunk({ tool_calls: [{ index, function: { arguments: f } }] }));
    });
    events.push(chunk({}, finish, variant === "compatible" ? { usage } : {}));
    if (includeUsage) events.push(sseData({ ...base, object: "chat.completion.chunk", choices: [], usage }));
    events.push(sseData("[DONE]"));
    await ctx.sse(events);
  }, openaiError);
}
