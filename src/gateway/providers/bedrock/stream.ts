/**
 * ConverseStream answers (`application/vnd.amazon.eventstream`) → canonical
 * chat chunks. Invariants:
 * - Frames are split and decoded by the AWS SDK's own codec
 *   (@smithy/core/event-streams: getChunkedStream, EventStreamCodec — CRCs
 *   checked); a frame that does not decode, a truncated frame, a frame over
 *   AWS's 16 MiB limit or an event payload that is not JSON is a `protocol` error.
 * - A frame with `:message-type: exception` (throttlingException,
 *   modelStreamErrorException…) or `error` is thrown as Bedrock's classified
 *   UpstreamError (errors.ts) from the iterator.
 * - Events: messageStart → the role chunk; contentBlockStart with a toolUse →
 *   the tool call's id and name; contentBlockDelta → text, tool input
 *   fragments (in order, per block) or reasoning; messageStop → the finish
 *   reason; metadata → the usage, sent last as a usage-only chunk. A stream
 *   that ends without messageStop was truncated: a `protocol` error.
 */
import { EventStreamCodec, getChunkedStream } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import type { ChatChunk, FinishReason, Usage } from "../../types.js";
import { usageToOpenAI } from "../../types.js";
import type { UpstreamCall } from "../http/transport.js";
import { UpstreamError } from "../types.js";
import { bedrockStreamError, scrubbed } from "./errors.js";
import { finishFromBedrock } from "./response.js";
import { usageFromBedrock, type ConverseUsage } from "./usage.js";

const codec = new EventStreamCodec(toUtf8, fromUtf8);

interface StreamEvent {
  type: string;
  payload: Record<string, unknown>;
}

/** AWS event-stream messages are at most 16 MiB: more bytes than that without a whole frame is not Bedrock. */
const MAX_FRAME = 16 * 1024 * 1024;

/** The events of an event-stream body, in order; exceptions thrown. */
async function* events(call: UpstreamCall, label: string, secrets: readonly string[]): AsyncGenerator<StreamEvent> {
  /** Bytes received and not yet decoded as frames (the codec buffers a frame until it is whole). */
  const buffered = { bytes: 0 };
  async function* counted() {
    for await (const chunk of call.chunks()) {
      buffered.bytes += chunk.length;
      if (buffered.bytes > MAX_FRAME)
        throw new UpstreamError("protocol", `${label} stream frame exceeds ${MAX_FRAME} bytes`);
      yield chunk;
    }
  }
  const frames = getChunkedStream(counted())[Symbol.asyncIterator]();
  // The chunked stream does not pass an early return on to the body: closing the call does.
  try {
    yield* decoded(frames, buffered, label, secrets);
  } finally {
    call.close();
  }
}

async function* decoded(
  frames: AsyncIterator<Uint8Array>,
  buffered: { bytes: number },
  label: string,
  secrets: readonly string[],
): AsyncGenerator<StreamEvent> {
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    let message: ReturnType<EventStreamCodec["decode"]>;
    try {
      next = await frames.next();
      if (next.done) return;
      buffered.bytes -= next.value.byteLength;
      message = codec.decode(next.value);
    } catch (err) {
      if (err instanceof UpstreamError) throw scrubbed(err, secrets);
      throw new UpstreamError("protocol", `${label} stream is not a valid event stream (${(err as Error).message})`);
    }
    const header = (name: string) => {
      const h = message.headers[name];
      return h?.type === "string" ? h.value : undefined;
    };
    const body = toUtf8(message.body);
    const kind = header(":message-type");
    if (kind === "exception") throw bedrockStreamError(label, header(":exception-type"), body, secrets);
    if (kind === "error") {
      const text = JSON.stringify({ message: header(":error-message") ?? "unknown error" });
      throw bedrockStreamError(label, header(":error-code"), text, secrets);
    }
    if (kind !== "event") continue;
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new UpstreamError("protocol", `${label} stream carried an event that is not JSON`);
    }
    if (payload && typeof payload === "object") {
      yield { type: header(":event-type") ?? "", payload: payload as Record<string, unknown> };
    }
  }
}

interface Delta {
  text?: unknown;
  toolUse?: { input?: unknown };
  reasoningContent?: { text?: unknown; signature?: unknown };
}

/** The canonical chunks of a ConverseStream body; `onUsage` gets each usage report. */
export async function* converseChunks(
  call: UpstreamCall,
  ctx: { id: string; model: string; label: string; secrets: readonly string[] },
  onUsage: (u: Usage) => void,
): AsyncGenerator<ChatChunk, void, undefined> {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: ChatChunk["choices"][0]["delta"], finish: FinishReason | null = null): ChatChunk => ({
    id: ctx.id,
    object: "chat.completion.chunk",
    created,
    model: ctx.model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  /** contentBlockIndex → the tool call index it carries. */
  const tools = new Map<number, number>();
  const signatures = new Map<number, string>();
  let started = false;
  let stopped = false;
  let usage: Usage | undefined;
  for await (const e of events(call, ctx.label, ctx.secrets)) {
    const p = e.payload;
    const block = typeof p.contentBlockIndex === "number" ? p.contentBlockIndex : 0;
    switch (e.type) {
      case "messageStart":
        started = true;
        yield chunk({ role: "assistant", content: "" });
        break;
      case "contentBlockStart": {
        const tu = (p.start as { toolUse?: { toolUseId?: unknown; name?: unknown } } | undefined)?.toolUse;
        if (tu && typeof tu.name === "string") {
          const index = tools.size;
          tools.set(block, index);
          const id = typeof tu.toolUseId === "string" ? tu.toolUseId : undefined;
          yield chunk({ tool_calls: [{ index, id, type: "function", function: { name: tu.name, arguments: "" } }] });
        }
        break;
      }
      case "contentBlockDelta": {
        const d = (p.delta ?? {}) as Delta;
        const tool = tools.get(block);
        if (typeof d.text === "string" && d.text) yield chunk({ content: d.text });
        else if (tool !== undefined && typeof d.toolUse?.input === "string" && d.toolUse.input)
          yield chunk({ tool_calls: [{ index: tool, function: { arguments: d.toolUse.input } }] });
        else if (typeof d.reasoningContent?.text === "string" && d.reasoningContent.text)
          yield chunk({ reasoning_content: d.reasoningContent.text });
        else if (typeof d.reasoningContent?.signature === "string")
          signatures.set(block, (signatures.get(block) ?? "") + d.reasoningContent.signature);
        break;
      }
      case "contentBlockStop": {
        const signature = signatures.get(block);
        if (signature) yield chunk({ reasoning_signature: signature });
        signatures.delete(block);
        break;
      }
      case "messageStop":
        if (!started) yield chunk({ role: "assistant", content: "" });
        stopped = true;
        yield chunk({}, finishFromBedrock(typeof p.stopReason === "string" ? p.stopReason : undefined));
        break;
      case "metadata":
        usage = usageFromBedrock(p.usage as ConverseUsage | undefined) ?? usage;
        if (usage) onUsage(usage);
        break;
      default:
        break; // event types Bedrock adds later
    }
  }
  if (!stopped) throw new UpstreamError("protocol", `${ctx.label} stream ended before messageStop`);
  if (usage)
    yield {
      id: ctx.id,
      object: "chat.completion.chunk",
      created,
      model: ctx.model,
      choices: [],
      usage: usageToOpenAI(usage),
    };
}
