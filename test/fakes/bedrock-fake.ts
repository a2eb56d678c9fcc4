/**
 * A faithful local fake of the Amazon Bedrock runtime API as Tollgate calls it:
 * - every request's SigV4 signature is checked as AWS checks it (bedrock-sigv4.ts):
 *   403 with AWS's `x-amzn-errortype` header and `{"message"}` body otherwise;
 * - POST /model/{modelId}/converse: the Converse request is validated as
 *   Bedrock does (bedrock-converse.ts) and answered with
 *   output.message, stopReason and usage (inputTokens without the cache reads
 *   and writes, as Bedrock counts);
 * - /converse-stream: the same answer as `application/vnd.amazon.eventstream`
 *   frames encoded with the AWS SDK's codec, in Bedrock's order (messageStart,
 *   contentBlockStart for tool uses, contentBlockDelta…, contentBlockStop,
 *   messageStop, metadata with the usage), each payload padded with `p`;
 * - /invoke: Amazon Titan text embeddings (one `inputText` per call; v2 takes
 *   `dimensions` 256/512/1024) and Cohere embeddings (`texts` with `input_type`),
 *   with the `X-Amzn-Bedrock-Input-Token-Count` header;
 * - an unknown model id is Bedrock's 400 "The provided model identifier is invalid.";
 * - scripted errors (`failNext`): AWS's types and statuses (throttling 429,
 *   validation 400, ResourceNotFound 404, ServiceUnavailable 503…), a stream
 *   that breaks with an exception frame after N events, and one cut short or
 *   carrying a frame whose CRC does not match (`cutStream`);
 * - `holdTitan(n)`: the first n Titan calls are answered only once n are in
 *   flight together (proves parallel calls without timing); `peakInFlight`.
 * The base faults (hang after N events, reset…) apply to streams as for the other fakes.
 */
import { EventStreamCodec } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { startFake, type FakeContext, type FakeServer } from "./base.js";
import { type FakeCredential, verifySigV4 } from "./bedrock-sigv4.js";
import { validateConverse, viewFromConverse } from "./bedrock-converse.js";
import { fragments, pieces, planReply } from "./script.js";

export interface BedrockFakeOptions {
  region: string;
  /** Access key id → its secret (and session token, for temporary credentials). */
  credentials: Record<string, FakeCredential>;
  /** Model ids the account may call (default: a few Claude, Titan and Cohere ids). */
  models?: string[];
  /** The usage to report instead of the planned one (chat). */
  usage?: ReportedUsage;
}

/** A Converse usage report (inputTokens without the cache, as Bedrock counts). */
export interface ReportedUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export interface ScriptedError {
  status: number;
  type: string;
  message: string;
  retryAfter?: string;
}

export const BEDROCK_ERRORS = {
  throttling: {
    status: 429,
    type: "ThrottlingException",
    message: "Too many requests, please wait before trying again.",
  },
  validation: {
    status: 400,
    type: "ValidationException",
    message: "The maximum tokens you requested exceeds the model limit.",
  },
  notFound: {
    status: 404,
    type: "ResourceNotFoundException",
    message: "This model version has reached the end of its life.",
  },
  unavailable: {
    status: 503,
    type: "ServiceUnavailableException",
    message: "Bedrock is unable to process your request.",
  },
  notReady: { status: 429, type: "ModelNotReadyException", message: "Model is not ready to serve inference requests." },
} satisfies Record<string, ScriptedError>;

export type BedrockFake = FakeServer & {
  /** The next `times` model calls answer this error. */
  failNext(e: ScriptedError, times?: number): void;
  /** The next stream sends `after` events, then an exception frame of `type` (lowerCamel, as Bedrock names them). */
  breakStream(after: number, type: string, message: string): void;
  /** The next stream ends after `after` events (no messageStop); `corrupt`: with a frame whose checksum is wrong. */
  cutStream(after: number, corrupt?: boolean): void;
  holdTitan(n: number): void;
  readonly peakInFlight: number;
  /** Usage objects reported, in order. */
  reported: ReportedUsage[];
};

const DEFAULT_MODELS = [
  "anthropic.claude-3-5-sonnet-20240620-v1:0",
  "us.anthropic.claude-3-5-haiku-20241022-v1:0",
  "amazon.titan-embed-text-v2:0",
  "amazon.titan-embed-text-v1",
  "cohere.embed-english-v3",
];

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const str = (value: string) => ({ type: "string" as const, value });

export function eventFrame(type: string, payload: Record<string, unknown>): Uint8Array {
  const p = PAD.slice(0, 1 + ((type.length * 7) % PAD.length));
  return codec.encode({
    headers: { ":event-type": str(type), ":content-type": str("application/json"), ":message-type": str("event") },
    body: fromUtf8(JSON.stringify({ ...payload, p })),
  });
}

export function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ":exception-type": str(type),
      ":content-type": str("application/json"),
      ":message-type": str("exception"),
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

const vector = (text: string, dims: number) => Array.from({ length: dims }, (_, d) => ((text.length + d) % 10) / 10);
const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export async function startBedrockFake(o: BedrockFakeOptions): Promise<BedrockFake> {
  const models = new Set(o.models ?? DEFAULT_MODELS);
  const reported: ReportedUsage[] = [];
  let scripted: ScriptedError | undefined;
  let scriptedTimes = 0;
  let streamBreak: { after: number; type?: string; message?: string; corrupt?: boolean } | undefined;
  let hold: { n: number; waiting: Array<() => void> } | undefined;
  let inFlight = 0;
  let peak = 0;
  let seq = 0;

  const awsError = (ctx: FakeContext, e: ScriptedError) =>
    ctx.json(
      e.status,
      { message: e.message },
      {
        "x-amzn-errortype": `${e.type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
        "x-amzn-requestid": `err-${++seq}`,
        ...(e.retryAfter ? { "retry-after": e.retryAfter } : {}),
      },
    );

  async function writeFrames(ctx: FakeContext, frames: Uint8Array[], requestId: string) {
    const { res, fault: f } = ctx;
    res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": requestId });
    res.flushHeaders();
    const brk = streamBreak;
    streamBreak = undefined;
    for (const [i, frame] of frames.entries()) {
      if (brk && i === brk.after) {
        if (brk.type) res.end(exceptionFrame(brk.type, brk.message ?? ""));
        else if (brk.corrupt) res.end(Buffer.from(frame).fill(0x41, frame.length - 8, frame.length - 4));
        else res.end();
        return;
      }
      if (f?.type === "hang_after" && i === f.chunks) return;
      if (res.destroyed) return;
      res.write(frame);
    }
    res.end();
  }

  function converse(ctx: FakeContext, model: string, stream: boolean) {
    const problem = validateConverse(ctx.body);
    if (problem) return awsError(ctx, { status: 400, type: "ValidationException", message: problem });
    const plan = planReply(viewFromConverse(ctx.body), "tooluse_");
    const preamble = plan.toolCalls.length ? "Let me use a tool." : "";
    const usage = o.usage ?? {
      inputTokens: plan.usage.input - plan.usage.cached,
      outputTokens: plan.usage.output,
      totalTokens: plan.usage.input + plan.usage.output,
      ...(plan.usage.cached ? { cacheReadInputTokens: plan.usage.cached, cacheWriteInputTokens: 0 } : {}),
    };
    reported.push(usage);
    const stopReason =
      plan.finish === "tool_calls"
        ? "tool_use"
        : plan.finish === "length"
          ? "max_tokens"
          : plan.finish === "stop_sequence"
            ? "stop_sequence"
            : "end_turn";
    const requestId = `req-${model.length}-${++seq}`;
    if (!stream) {
      const content = [
        ...(plan.text || preamble ? [{ text: plan.text || preamble }] : []),
        ...plan.toolCalls.map((t) => ({ toolUse: { toolUseId: t.id, name: t.name, input: t.args } })),
      ];
      return ctx.json(
        200,
        { output: { message: { role: "assistant", content } }, stopReason, usage, metrics: { latencyMs: 42 } },
        { "x-amzn-requestid": requestId },
      );
    }
    const frames: Uint8Array[] = [eventFrame("messageStart", { role: "assistant" })];
    let index = 0;
    const text = plan.text || preamble;
    if (text) {
      for (const piece of pieces(text))
        frames.push(eventFrame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: piece } }));
      frames.push(eventFrame("contentBlockStop", { contentBlockIndex: 0 }));
      index = 1;
    }
    for (const t of plan.toolCalls) {
      frames.push(
        eventFrame("contentBlockStart", {
          contentBlockIndex: index,
          start: { toolUse: { toolUseId: t.id, name: t.name } },
        }),
      );
      for (const f of fragments(JSON.stringify(t.args)))
        frames.push(eventFrame("contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: f } } }));
      frames.push(eventFrame("contentBlockStop", { contentBlockIndex: index }));
      index++;
    }
    frames.push(eventFrame("messageStop", { stopReason }));
    frames.push(eventFrame("metadata", { usage, metrics: { latencyMs: 42 } }));
    return writeFrames(ctx, frames, requestId);
  }

  async function invoke(ctx: FakeContext, model: string) {
    const b = ctx.body;
    const malformed = (m: string) =>
      awsError(ctx, {
        status: 400,
        type: "ValidationException",
        message: `Malformed input request: ${m}, please reformat your input and try again.`,
      });
    if (model.startsWith("amazon.titan-embed")) {
      if (typeof b?.inputText !== "string") return malformed("#: required key [inputText] not found");
      const v2 = model.includes("v2");
      if (!v2 && b.dimensions !== undefined) return malformed("#: extraneous key [dimensions] is not permitted");
      if (b.dimensions !== undefined && ![256, 512, 1024].includes(b.dimensions))
        return malformed(`#/dimensions: ${b.dimensions} is not a valid enum value`);
      if (hold && hold.n > 0) {
        hold.n--;
        await new Promise<void>((resolve) => {
          hold!.waiting.push(resolve);
          if (hold!.n === 0) for (const w of hold!.waiting.splice(0)) w();
        });
      }
      const tokens = tokensOf(b.inputText);
      const embedding = vector(b.inputText, b.dimensions ?? (v2 ? 1024 : 1536));
      return ctx.json(
        200,
        { embedding, inputTextTokenCount: tokens, ...(v2 ? { embeddingsByType: { float: embedding } } : {}) },
        { "x-amzn-bedrock-input-token-count": String(tokens), "x-amzn-requestid": `inv-${++seq}` },
      );
    }
    if (model.startsWith("cohere.embed")) {
      const texts = b?.texts;
      if (!Array.isArray(texts) || !texts.length || texts.length > 96)
        return malformed("#/texts: expected 1 to 96 items");
      if (!["search_document", "search_query", "classification", "clustering"].includes(b.input_type))
        return malformed("#: required key [input_type] not found");
      const tokens = texts.reduce((s: number, t: string) => s + tokensOf(t), 0);
      return ctx.json(
        200,
        {
          embeddings: texts.map((t: string) => vector(t, 1024)),
          id: `emb-${++seq}`,
          response_type: "embeddings_floats",
          texts,
        },
        { "x-amzn-bedrock-input-token-count": String(tokens), "x-amzn-requestid": `inv-${seq}` },
      );
    }
    return malformed("this fake serves embedding models only");
  }

  const server = await startFake(
    async (ctx) => {
      const refusal = await verifySigV4(ctx.req, ctx.raw, {
        region: o.region,
        service: "bedrock",
        credentials: o.credentials,
      });
      if (refusal) return awsError(ctx, refusal);
      const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(ctx.path);
      if (!m) return awsError(ctx, { status: 404, type: "UnknownOperationException", message: "" });
      const model = decodeURIComponent(m[1]!);
      if (!models.has(model))
        return awsError(ctx, {
          status: 400,
          type: "ValidationException",
          message: "The provided model identifier is invalid.",
        });
      if (scripted && scriptedTimes > 0) {
        scriptedTimes--;
        return awsError(ctx, scripted);
      }
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        if (m[2] === "invoke") return await invoke(ctx, model);
        return await converse(ctx, model, m[2] === "converse-stream");
      } finally {
        inFlight--;
      }
    },
    (_status, message) => ({ message }),
  );

  const fake = Object.assign(server, {
    reported,
    failNext(e: ScriptedError, times = 1) {
      scripted = e;
      scriptedTimes = times;
    },
    breakStream(after: number, type: string, message: string) {
      streamBreak = { after, type, message };
    },
    cutStream(after: number, corrupt = false) {
      streamBreak = { after, corrupt };
    },
    holdTitan(n: number) {
      hold = { n, waiting: [] };
    },
  });
  return Object.defineProperty(fake, "peakInFlight", { get: () => peak }) as BedrockFake;
}
