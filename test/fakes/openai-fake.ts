/**
 * A faithful local fake of the OpenAI API subset Tollgate uses:
 * POST /v1/chat/completions (JSON and SSE: role chunk, content deltas,
 * tool_call deltas with id/name first then argument fragments, finish chunk,
 * the usage-only chunk when stream_options.include_usage, then `data: [DONE]`)
 * POST /v1/embeddings, and the media endpoints (images, audio transcriptions
 * as multipart/form-data, speech, moderations: `answerMedia`), and the
 * Responses API (POST /v1/responses: openai-responses-fake.ts). Errors use OpenAI's `{"error":{message,type,param,code}}`.
 * `variant: "compatible"` mimics common OpenAI-compatible servers (vLLM,
 * Together, Fireworks…): usage rides on the final choice chunk and
 * stream_options is ignored.
 */
import { type FakeContext, startFake, sseData, type FakeServer } from "./base.js";
import { answerResponses } from "./openai-responses-fake.js";
import { fragments, pieces, planReply, type View } from "./script.js";

export interface OpenAIFakeOptions {
  /** The key (or keys: several accounts' credentials) the fake takes; others get OpenAI's 401. */
  apiKey?: string | string[];
  /** What GET /v1/models lists (read per request, so a test may change it); unset: 404, as servers without a list. */
  models?: string[];
  /** An answer per key instead of the normal one (read per request): e.g. one account rate limited. */
  keyStatus?: Record<string, { status: number; retryAfter?: string }>;
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

/** A transcription upload as the fake received it (multipart/form-data). */
export interface FakeUpload {
  fields: Record<string, string>;
  file: { name: string; type: string; size: number } | null;
}

export type OpenAIFake = FakeServer & { uploads: FakeUpload[] };

/** The fake's usage of gpt-image-1 (every output token an image token) and gpt-4o-transcribe; whisper-1 lasts 12 s. */
export const FAKE_MEDIA_USAGE = {
  image: {
    input_tokens: 50,
    input_tokens_details: { text_tokens: 50, image_tokens: 0 },
    output_tokens: 4160,
    total_tokens: 4210,
  },
  transcribe: {
    type: "tokens",
    input_tokens: 120,
    input_token_details: { text_tokens: 20, audio_tokens: 100 },
    output_tokens: 30,
    total_tokens: 150,
  },
  whisperSeconds: 12,
  speech: { input_tokens: 10, output_tokens: 500, total_tokens: 510 },
};
/** The bytes the fake's speech answers carry (an MP3 frame header, then silence). */
export const FAKE_SPEECH = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413)]);

/**
 * Images, transcriptions, speech and moderations (true when the path was one of them). Moderation flags
 * inputs containing "kill"; gpt-…-tts speech asked with `stream_format: "sse"` streams base64 deltas and
 * `speech.audio.done` with usage, other speech answers raw bytes.
 */
async function answerMedia(ctx: FakeContext, uploads: FakeUpload[]): Promise<boolean> {
  const { body } = ctx;
  if (ctx.path === "/v1/images/generations") {
    if (!body?.prompt) {
      ctx.json(400, openaiError(400, "'prompt' is required"));
      return true;
    }
    const b64 = FAKE_SPEECH.toString("base64");
    const item = body.response_format === "url" ? { url: "https://images.fake/img-1.png" } : { b64_json: b64 };
    ctx.json(200, {
      created: 1_700_000_000,
      data: Array.from({ length: body.n ?? 1 }, () => item),
      ...(String(body.model).startsWith("gpt-image") ? { usage: FAKE_MEDIA_USAGE.image } : {}),
    });
    return true;
  }
  if (ctx.path === "/v1/audio/transcriptions") {
    const type = String(ctx.req.headers["content-type"] ?? "");
    if (!type.startsWith("multipart/form-data")) {
      ctx.json(400, openaiError(400, "Expected multipart/form-data"));
      return true;
    }
    const form = await new Response(new Uint8Array(ctx.raw), { headers: { "content-type": type } }).formData();
    const fields: Record<string, string> = {};
    let file: FakeUpload["file"] = null;
    for (const [k, v] of form.entries())
      if (typeof v === "string") fields[k] = v;
      else file = { name: v.name, type: v.type, size: v.size };
    uploads.push({ fields, file });
    if (!file) {
      ctx.json(400, openaiError(400, "'file' is required"));
      return true;
    }
    const text = `fake transcript of ${file.size} bytes`;
    const format = fields.response_format ?? "json";
    const usage =
      fields.model === "whisper-1"
        ? { type: "duration", seconds: FAKE_MEDIA_USAGE.whisperSeconds }
        : FAKE_MEDIA_USAGE.transcribe;
    if (format === "text" || format === "srt" || format === "vtt") {
      ctx.res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      ctx.res.end(format === "text" ? text : `1\n00:00:00,000 --> 00:00:12,000\n${text}\n\n`);
      return true;
    }
    const verbose =
      format === "verbose_json" ? { task: "transcribe", language: "english", duration: 12, segments: [] } : {};
    ctx.json(200, { ...verbose, text, usage });
    return true;
  }
  if (ctx.path === "/v1/audio/speech") {
    if (!body?.input) {
      ctx.json(400, openaiError(400, "'input' is required"));
      return true;
    }
    if (body.stream_format === "sse") {
      const half = FAKE_SPEECH.length >> 1;
      await ctx.sse([
        sseData({ type: "speech.audio.delta", audio: FAKE_SPEECH.subarray(0, half).toString("base64") }),
        sseData({ type: "speech.audio.delta", audio: FAKE_SPEECH.subarray(half).toString("base64") }),
        sseData({ type: "speech.audio.done", usage: FAKE_MEDIA_USAGE.speech }),
      ]);
      return true;
    }
    ctx.res.writeHead(200, { "content-type": "audio/mpeg" });
    ctx.res.end(FAKE_SPEECH);
    return true;
  }
  if (ctx.path === "/v1/moderations") {
    const inputs: string[] = typeof body?.input === "string" ? [body.input] : (body?.input ?? []);
    ctx.json(200, {
      id: "modr-fake",
      model: body?.model ?? "omni-moderation-latest",
      results: inputs.map((i) => {
        const flagged = String(i).includes("kill");
        return { flagged, categories: { violence: flagged }, category_scores: { violence: flagged ? 0.9 : 0.01 } };
      }),
    });
    return true;
  }
  return false;
}

export function startOpenAIFake(o: OpenAIFakeOptions = {}): Promise<OpenAIFake> {
  const variant = o.variant ?? "openai";
  const uploads: FakeUpload[] = [];
  const issued = { n: 0 };
  return startFake(async (ctx) => {
    const { req, body } = ctx;
    const got = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
    const keys = o.apiKey === undefined ? undefined : ([] as string[]).concat(o.apiKey);
    if (keys && !keys.includes(got)) {
      return ctx.json(
        401,
        openaiError(
          401,
          `Incorrect API key provided: ${got}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        ),
      );
    }
    const forKey = o.keyStatus?.[got];
    if (forKey)
      return ctx.json(
        forKey.status,
        openaiError(forKey.status, `Answered ${forKey.status} for this key`),
        forKey.retryAfter ? { "retry-after": forKey.retryAfter } : {},
      );
    if (ctx.path === "/v1/models" && req.method === "GET" && o.models)
      return ctx.json(200, {
        object: "list",
        data: o.models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "fake" })),
      });
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
    if (await answerMedia(ctx, uploads)) return;
    if (ctx.path === "/v1/responses") return answerResponses(ctx, issued);
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
  }, openaiError).then((server) => Object.assign(server, { uploads }));
}
