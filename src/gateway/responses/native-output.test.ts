/**
 * The native Responses renderer as a client sees it: OpenAI's events and objects with Tollgate's ids and
 * names, through a word redactor or the security policy's own output scanner.
 */
import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import type { OutputScanner } from "../hooks.js";
import type { NativeEvent } from "../providers/types.js";
import { effectivePolicy, orgPolicySchema } from "../security/policy.js";
import { createPolicyScanner } from "../security/scanner.js";
import type { SseFrame } from "../sse.js";
import { type NativeResponseTarget, NativeResponsesStreamer, renderNativeResponse } from "./native-output.js";

type Json = Record<string, unknown>;

const target: NativeResponseTarget = {
  id: "resp_tollgate1",
  model: "openai/gpt-5",
  store: true,
  previousResponseId: "resp_tollgate0",
  clientWantsEncrypted: false,
  maxToolCalls: null,
};

/**
 * Redacts the word "secret" (text and arguments); holds back a trailing partial word so a word split
 * across deltas is still caught (as the redactor of test/gateway-hooks.test.ts).
 */
function redactor(): OutputScanner {
  const held = new Map<string, string>();
  const clean = (s: string) => s.replace(/secret/gi, "[REDACTED]");
  const push = (key: string, text: string, boundary: RegExp) => {
    const buf = (held.get(key) ?? "") + text;
    let cut = 0;
    for (const m of buf.matchAll(boundary)) cut = m.index + 1;
    held.set(key, buf.slice(cut));
    return clean(buf.slice(0, cut));
  };
  const end = (key: string) => {
    const rest = held.get(key) ?? "";
    held.delete(key);
    return clean(rest);
  };
  return {
    push: (text, i) => push(`t${i}`, text, / /g),
    end: (i) => end(`t${i}`),
    pushArgs: (text, c, t) => push(`a${c}:${t}`, text, /[^a-z]/gi),
    endArgs: (c, t) => end(`a${c}:${t}`),
  };
}

/** The security policy's own output scanner, redacting e-mail addresses (holds text back up to 256 chars). */
const policyScanner = (email: "redact" | "block" = "redact") =>
  createPolicyScanner(effectivePolicy(orgPolicySchema.parse({ pii: { email } }))).outputScanner();

/** OpenAI's response object as it starts (gpt-5, store:false and no previous id as Tollgate sent it). */
function upstreamResponse(fields: Json = {}): Json {
  return {
    id: "resp_68b1openai",
    object: "response",
    created_at: 1764859000,
    status: "in_progress",
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    max_tool_calls: 16,
    model: "gpt-5-2025-08-07",
    output: [],
    previous_response_id: null,
    reasoning: { effort: "medium", summary: "auto" },
    store: false,
    usage: null,
    ...fields,
  };
}

const usage = {
  input_tokens: 21,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 150,
  output_tokens_details: { reasoning_tokens: 128 },
  total_tokens: 171,
};
const ENCRYPTED = "gAAAAABo-encrypted-reasoning";
const reasoningDone = (summary: string) => ({
  id: "rs_1",
  type: "reasoning",
  summary: [{ type: "summary_text", text: summary }],
  encrypted_content: ENCRYPTED,
});
const textPart = (text: string) => ({ type: "output_text", annotations: [], logprobs: [], text });
const messageDone = (text: string, annotations: unknown[] = []) => ({
  id: "msg_1",
  type: "message",
  status: "completed",
  content: [{ ...textPart(text), annotations }],
  role: "assistant",
});
const citation = { type: "url_citation", start_index: 0, end_index: 3, url: "https://example.com", title: "Ex" };

/** A reasoning summary then a cited answer, as OpenAI streams them (text split across deltas). */
function textStream(summary: string[], text: string[]): Json[] {
  const s = summary.join("");
  const t = text.join("");
  const at = { item_id: "msg_1", output_index: 1, content_index: 0 };
  const rs = { item_id: "rs_1", output_index: 0, summary_index: 0 };
  return [
    { type: "response.created", response: upstreamResponse() },
    { type: "response.in_progress", response: upstreamResponse() },
    { type: "response.output_item.added", output_index: 0, item: { id: "rs_1", type: "reasoning", summary: [] } },
    { type: "response.reasoning_summary_part.added", ...rs, part: { type: "summary_text", text: "" } },
    ...summary.map((delta) => ({ type: "response.reasoning_summary_text.delta", ...rs, delta, obfuscation: "x1" })),
    { type: "response.reasoning_summary_text.done", ...rs, text: s },
    { type: "response.reasoning_summary_part.done", ...rs, part: { type: "summary_text", text: s } },
    { type: "response.output_item.done", output_index: 0, item: reasoningDone(s) },
    {
      type: "response.output_item.added",
      output_index: 1,
      item: { id: "msg_1", type: "message", status: "in_progress", content: [], role: "assistant" },
    },
    { type: "response.content_part.added", ...at, part: textPart("") },
    ...text.map((delta) => ({ type: "response.output_text.delta", ...at, delta, logprobs: [], obfuscation: "ab" })),
    { type: "response.output_text.annotation.added", ...at, annotation_index: 0, annotation: citation },
    { type: "response.output_text.done", ...at, text: t, logprobs: [] },
    { type: "response.content_part.done", ...at, part: { ...textPart(t), annotations: [citation] } },
    { type: "response.output_item.done", output_index: 1, item: messageDone(t, [citation]) },
    {
      type: "response.completed",
      response: upstreamResponse({
        status: "completed",
        output: [reasoningDone(s), messageDone(t, [citation])],
        usage,
      }),
    },
  ].map((e, i) => ({ ...e, sequence_number: i }));
}

/** One function call with its arguments split across deltas. */
function callStream(args: string[], terminal = "response.completed"): Json[] {
  const a = args.join("");
  const item = {
    id: "fc_1",
    type: "function_call",
    status: "in_progress",
    arguments: "",
    call_id: "call_9",
    name: "mail",
  };
  const doneItem = { ...item, status: "completed", arguments: a };
  return [
    { type: "response.created", response: upstreamResponse() },
    { type: "response.output_item.added", output_index: 0, item },
    ...args.map((delta) => ({
      type: "response.function_call_arguments.delta",
      item_id: "fc_1",
      output_index: 0,
      delta,
    })),
    { type: "response.function_call_arguments.done", item_id: "fc_1", output_index: 0, arguments: a },
    { type: "response.output_item.done", output_index: 0, item: doneItem },
    {
      type: terminal,
      response: upstreamResponse({
        status: terminal === "response.completed" ? "completed" : "incomplete",
        ...(terminal === "response.incomplete" ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
        output: [doneItem],
        usage,
      }),
    },
  ].map((e, i) => ({ ...e, sequence_number: i }));
}

/** Everything the client receives: the frames for each event, then the closing frames. */
function play(s: NativeResponsesStreamer, events: Json[], extra: Json = {}): Json[] {
  const frames: SseFrame[] = [];
  for (const e of events) frames.push(...s.event(e as NativeEvent));
  frames.push(...s.finish(undefined, extra));
  return frames.map((f) => {
    if (!("data" in f)) throw new Error("raw frame");
    expect(f.event).toBe((f.data as Json).type);
    return f.data as Json;
  });
}

const ofType = (frames: Json[], type: string) => frames.filter((f) => f.type === type);
const one = (frames: Json[], type: string) => {
  const found = ofType(frames, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const tollgateFields = {
  id: "resp_tollgate1",
  model: "openai/gpt-5",
  store: true,
  previous_response_id: "resp_tollgate0",
  max_tool_calls: null,
};

describe("native Responses stream without a scanner", () => {
  it("passes OpenAI's events through with Tollgate's ids, renumbered, and holds the terminal event for finish", () => {
    const events = textStream(["Thinking ", "about secret"], ["The sec", "ret is ", "safe."]);
    const s = new NativeResponsesStreamer(target, undefined);
    const sent = events.flatMap((e) => s.event(e as NativeEvent));
    // Everything but the terminal event goes out at once, in order.
    expect(sent.map((f) => ("data" in f ? (f.data as Json).type : ""))).toEqual(events.slice(0, -1).map((e) => e.type));
    const frames = [...sent, ...s.finish(undefined, { cost_usd: "0.0012" })].map((f) =>
      "data" in f ? (f.data as Json) : {},
    );
    expect(frames.map((f) => f.sequence_number)).toEqual(frames.map((_, i) => i));
    expect(ofType(frames, "response.output_text.delta").map((f) => f.delta)).toEqual(["The sec", "ret is ", "safe."]);
    for (const type of ["response.created", "response.in_progress", "response.completed"])
      expect(one(frames, type).response).toMatchObject(tollgateFields);
    const completed = one(frames, "response.completed");
    expect(frames.at(-1)).toBe(completed);
    expect(completed.tollgate).toEqual({ cost_usd: "0.0012" });
    const response = completed.response as Json;
    expect(response.usage).toEqual(usage);
    // Encrypted reasoning stays with Tollgate (the client did not ask for it).
    expect(JSON.stringify(frames)).not.toContain(ENCRYPTED);
    expect((response.output as Json[])[0]).toEqual({ id: "rs_1", type: "reasoning", summary: [expect.any(Object)] });
    expect((s.final()!.output as Json[])[0]).toEqual(reasoningDone("Thinking about secret"));
    expect(s.final()).toMatchObject({ ...tollgateFields, status: "completed", usage });
    expect(s.sent()).toBe("The secret is safe.");
  });

  it("final() is null before finish; an empty extension adds no tollgate field", () => {
    const s = new NativeResponsesStreamer(target, undefined);
    for (const e of callStream(['{"to":', '"ann"}'])) s.event(e as NativeEvent);
    expect(s.final()).toBeNull();
    const [completed] = s.finish(undefined, {}).map((f) => ("data" in f ? (f.data as Json) : {}));
    expect(completed!.type).toBe("response.completed");
    expect(completed).not.toHaveProperty("tollgate");
    expect(s.final()).toMatchObject({ id: "resp_tollgate1", output: [{ arguments: '{"to":"ann"}' }] });
  });

  it("the client that asked for encrypted reasoning gets it", () => {
    const frames = play(
      new NativeResponsesStreamer({ ...target, clientWantsEncrypted: true }, undefined),
      textStream(["Plan."], ["Hi."]),
    );
    expect((ofType(frames, "response.output_item.done")[0]!.item as Json).encrypted_content).toBe(ENCRYPTED);
    const output = (one(frames, "response.completed").response as Json).output as Json[];
    expect(output[0]!.encrypted_content).toBe(ENCRYPTED);
  });
});

describe("native Responses stream through the output scanner", () => {
  it("scans text deltas, drops empty frames, flushes at .done and rewrites every closing object", () => {
    const s = new NativeResponsesStreamer(target, redactor());
    const frames = play(s, textStream(["Check the sec", "ret store"], ["The sec", "ret is ", "safe."]), { cost: 1 });
    expect(frames.map((f) => f.sequence_number)).toEqual(frames.map((_, i) => i));
    const text = "The [REDACTED] is safe.";
    // "safe." is held to the end: its delta frame is dropped and released as one more delta before .done.
    const deltas = ofType(frames, "response.output_text.delta");
    expect(deltas.map((f) => f.delta)).toEqual(["The ", "[REDACTED] is ", "safe."]);
    expect(deltas[2]).toMatchObject({ item_id: "msg_1", output_index: 1, content_index: 0, logprobs: [] });
    const doneAt = frames.indexOf(one(frames, "response.output_text.done"));
    expect(frames[doneAt - 1]).toBe(deltas[2]);
    expect(frames[doneAt]!.text).toBe(text);
    expect((one(frames, "response.content_part.done").part as Json).text).toBe(text);
    // Annotations are kept as OpenAI sent them.
    expect(one(frames, "response.output_text.annotation.added").annotation).toEqual(citation);
    expect((one(frames, "response.content_part.done").part as Json).annotations).toEqual([citation]);
    const items = ofType(frames, "response.output_item.done").map((f) => f.item as Json);
    expect(items[1]).toEqual(messageDone(text, [citation]));

    // The reasoning summary is scanned the same way, in its own slot.
    const summary = "Check the [REDACTED] store";
    expect(ofType(frames, "response.reasoning_summary_text.delta").map((f) => f.delta)).toEqual([
      "Check the ",
      "[REDACTED] ",
      "store",
    ]);
    expect(one(frames, "response.reasoning_summary_text.done").text).toBe(summary);
    expect((one(frames, "response.reasoning_summary_part.done").part as Json).text).toBe(summary);
    expect(items[0]).toEqual({ id: "rs_1", type: "reasoning", summary: [{ type: "summary_text", text: summary }] });

    const completed = one(frames, "response.completed");
    expect(completed.tollgate).toEqual({ cost: 1 });
    expect(completed.response).toMatchObject({ ...tollgateFields, status: "completed", usage });
    expect((completed.response as Json).output).toEqual(items);
    expect(JSON.stringify(frames)).not.toContain("secret");
    expect(s.final()!.output).toEqual([reasoningDone(summary), messageDone(text, [citation])]);
    expect(s.sent()).toBe(text);
  });

  it("function arguments go through the policy scanner and stay valid JSON", () => {
    const s = new NativeResponsesStreamer(target, policyScanner());
    const frames = play(s, callStream(['{"to":"ann@exa', 'mple.com","subject":', '"hi"}']));
    const args = '{"to":"[EMAIL_1]","subject":"hi"}';
    const deltas = ofType(frames, "response.function_call_arguments.delta");
    expect(deltas.map((f) => f.delta).join("")).toBe(args);
    expect(JSON.parse(args)).toEqual({ to: "[EMAIL_1]", subject: "hi" });
    expect(one(frames, "response.function_call_arguments.done").arguments).toBe(args);
    expect((one(frames, "response.output_item.done").item as Json).arguments).toBe(args);
    expect((one(frames, "response.completed").response as Json).output).toEqual([
      { id: "fc_1", type: "function_call", status: "completed", arguments: args, call_id: "call_9", name: "mail" },
    ]);
    expect(frames.map((f) => f.sequence_number)).toEqual(frames.map((_, i) => i));
    expect(s.sent()).toBe(args);
    expect(JSON.stringify(frames)).not.toContain("example.com");
  });

  it("an incomplete response ends with response.incomplete, as OpenAI reported it", () => {
    const s = new NativeResponsesStreamer(target, redactor());
    const frames = play(s, callStream(['{"note":"the sec', 'ret"}'], "response.incomplete"), { cost: 2 });
    const last = frames.at(-1)!;
    expect(last).toMatchObject({ type: "response.incomplete", tollgate: { cost: 2 } });
    expect(last.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(((last.response as Json).output as Json[])[0]!.arguments).toBe('{"note":"the [REDACTED]"}');
    expect(ofType(frames, "response.completed")).toHaveLength(0);
  });

  it("a block stops the stream; error() answers an error event then response.failed, numbered on", () => {
    const s = new NativeResponsesStreamer(target, policyScanner("block"));
    const events = textStream(["Plan."], ["Write to ann@example.com now"]);
    const frames: SseFrame[] = [];
    let failure: unknown;
    try {
      for (const e of events) frames.push(...s.event(e as NativeEvent));
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(GatewayError);
    const tail = s.error(failure as GatewayError, "req_1").map((f) => ("data" in f ? (f.data as Json) : {}));
    expect(tail.map((f) => f.type)).toEqual(["error", "response.failed"]);
    expect(tail[0]).toMatchObject({ code: "policy_violation", param: null, sequence_number: frames.length });
    expect(tail[1]).toMatchObject({
      sequence_number: frames.length + 1,
      response: { ...tollgateFields, status: "failed", error: { code: "policy_violation" } },
    });
    expect(JSON.stringify([...frames, ...tail])).not.toContain("ann@example.com");
    expect(JSON.stringify(tail)).not.toContain(ENCRYPTED);
  });
});

describe("whole native Responses answer", () => {
  const body = upstreamResponse({
    status: "completed",
    output: [
      reasoningDone("The user keeps a secret"),
      messageDone("Mail ann@example.com, the secret is safe.", [citation]),
      {
        id: "fc_1",
        type: "function_call",
        status: "completed",
        arguments: '{"to":"ann@example.com"}',
        call_id: "call_9",
        name: "mail",
      },
    ],
    usage,
  });

  it("applies the scanner to text, summary and arguments; the client loses encrypted reasoning, the store keeps it", () => {
    const { client, stored, text } = renderNativeResponse(body, target, policyScanner());
    expect(client).toMatchObject({ ...tollgateFields, status: "completed", usage, object: "response" });
    const out = client.output as Json[];
    expect(out[0]).toEqual({
      id: "rs_1",
      type: "reasoning",
      summary: [{ type: "summary_text", text: "The user keeps a secret" }],
    });
    expect(out[1]).toEqual(messageDone("Mail [EMAIL_1], the secret is safe.", [citation]));
    expect(JSON.parse((out[2] as Json).arguments as string)).toEqual({ to: "[EMAIL_1]" });
    expect((stored.output as Json[])[0]).toEqual(reasoningDone("The user keeps a secret"));
    expect((stored.output as Json[]).slice(1)).toEqual(out.slice(1));
    // The same address gets the same placeholder across text and arguments.
    expect(text).toBe('Mail [EMAIL_1], the secret is safe.{"to":"[EMAIL_1]"}');
    expect(body.id).toBe("resp_68b1openai");
  });

  it("scans every slot of model output in its own key: summary, text, refusal, custom tool input", () => {
    const refusal = {
      id: "msg_2",
      type: "message",
      role: "assistant",
      content: [{ type: "refusal", refusal: "No secret here" }],
    };
    const custom = { id: "ctc_1", type: "custom_tool_call", call_id: "call_7", name: "sh", input: "echo secret" };
    const out = renderNativeResponse(
      { ...body, output: [...(body.output as Json[]), refusal, custom] },
      target,
      redactor(),
    ).client.output as Json[];
    expect((out[0]!.summary as Json[])[0]!.text).toBe("The user keeps a [REDACTED]");
    expect(((out[1]!.content as Json[])[0] as Json).text).toBe("Mail ann@example.com, the [REDACTED] is safe.");
    expect(out[3]).toEqual({ ...refusal, content: [{ type: "refusal", refusal: "No [REDACTED] here" }] });
    expect(out[4]).toEqual({ ...custom, input: "echo [REDACTED]" });
  });

  it("without a scanner, only Tollgate's fields change (the output is OpenAI's own)", () => {
    const { client, stored, text } = renderNativeResponse(body, { ...target, clientWantsEncrypted: true }, undefined);
    expect(client).toBe(stored);
    expect(client.output).toBe(body.output);
    expect(client).toEqual({ ...body, ...tollgateFields });
    expect(text).toBe('Mail ann@example.com, the secret is safe.{"to":"ann@example.com"}');
  });
});
