/**
 * OpenAI's `POST /v1/responses` for the OpenAI fake, in the Responses wire
 * format: a whole `response` object, or (stream: true) its semantic events,
 * each `event: <type>` + `data: <json>` with a growing `sequence_number`,
 * ending with response.completed / response.incomplete (no `[DONE]`).
 * Rules, besides the shared script (script.ts):
 * - reasoning models (o<digit>…, gpt-5…) start with a `reasoning` item (a
 *   summary when `reasoning.summary` is set; `encrypted_content` only when
 *   `include` asks for it) and report 16 reasoning tokens inside output_tokens;
 * - input `reasoning` items pass only with `store: false` and encrypted_content
 *   this fake issued, else 404 as OpenAI answers; `previous_response_id` is a
 *   400 (nothing is stored here); a function_call_output needs its function_call;
 * - the `web_search` tool and a prompt mentioning "search" (or a tool_choice
 *   forcing it) → web_search_call item(s) ("twice" → two, capped by
 *   max_tool_calls), and a url_citation on the message text;
 * - prompt triggers: "fail:<code>" → a failed response (response.failed when
 *   streamed); "error-event:<code>" → an `error` event mid-stream (an HTTP error
 *   when whole); "cut-short" → the stream closes before its terminal event.
 */
import { randomBytes } from "node:crypto";
import { type FakeContext, sseData } from "./base.js";
import { fragments, pieces, planReply, type View } from "./script.js";

type Item = Record<string, any>;

const REASONING_TOKENS = 16;
const CITATION = { url: "https://example.com/fake-search-result", title: "Fake search result" };
const isReasoningModel = (model: string) => /^(o\d|gpt-5)/.test(model);
const id = (prefix: string) => `${prefix}${randomBytes(20).toString("hex")}`;

const partsText = (c: any): string =>
  typeof c === "string"
    ? c
    : Array.isArray(c)
      ? c
          .filter((p) => ["input_text", "output_text", "text"].includes(p?.type))
          .map((p) => p.text)
          .join("")
      : "";

const inputItems = (b: any): Item[] =>
  typeof b.input === "string" ? [{ type: "message", role: "user", content: b.input }] : (b.input ?? []);

const isMessage = (i: Item) => i.type === "message" || (i.type === undefined && typeof i.role === "string");
const isInstruction = (m: Item) => m.role === "system" || m.role === "developer";
const isWebSearch = (t: any) => /^web_search/.test(String(t?.type));

export function viewFromResponses(b: any): View {
  const items = inputItems(b);
  const messages = items.filter(isMessage);
  const system = [
    ...(typeof b.instructions === "string" && b.instructions ? [b.instructions] : []),
    ...messages.filter(isInstruction).map((m) => partsText(m.content)),
  ].join("\n\n");
  const users = messages.filter((m) => m.role === "user");
  const toolResults: string[] = [];
  for (let i = items.length - 1; i >= 0 && items[i]!.type === "function_call_output"; i--)
    toolResults.unshift(partsText(items[i]!.output));
  let image: string | undefined;
  for (const m of users)
    for (const p of Array.isArray(m.content) ? m.content : [])
      if (p.type === "input_image" && typeof p.image_url === "string")
        image ??= p.image_url.startsWith("data:") ? /^data:([^;,]+)/.exec(p.image_url)?.[1] : p.image_url;
  const tc = b.tool_choice;
  const format = b.text?.format?.type;
  return {
    system,
    userTurns: users.length,
    lastUserText: users.length ? partsText(users[users.length - 1]!.content) : "",
    toolResults,
    tools: (b.tools ?? [])
      .filter((t: any) => t.type === "function")
      .map((t: any) => ({ name: t.name, schema: t.parameters })),
    toolChoice:
      tc === undefined || isWebSearch(tc) ? "auto" : typeof tc === "string" ? (tc as "auto") : { name: tc.name },
    parallel: b.parallel_tool_calls !== false,
    wantsJson: format === "json_object" || format === "json_schema",
    image,
    stop: [],
    maxTokens: b.max_output_tokens ?? undefined,
    totalChars:
      system.length +
      items.reduce((n, i) => n + partsText(!isMessage(i) ? i.output : isInstruction(i) ? "" : i.content).length, 0),
  };
}

/** What the fake hands out as encrypted reasoning: opaque to clients, checkable here. */
const seal = (model: string, n: number) =>
  Buffer.from(JSON.stringify({ iss: "openai-fake", model, n })).toString("base64");
function unseal(s: unknown): boolean {
  if (typeof s !== "string") return false;
  try {
    return JSON.parse(Buffer.from(s, "base64").toString("utf8"))?.iss === "openai-fake";
  } catch {
    return false;
  }
}

const err = (message: string, param: string | null = null, code: string | null = null) => ({
  error: { message, type: "invalid_request_error", param, code },
});

/** The 4xx a request earns, as OpenAI words it; undefined when it is acceptable. */
function refusal(b: any): { status: number; body: unknown } | undefined {
  if (!b || typeof b.model !== "string")
    return { status: 400, body: err("Missing required parameter: 'model'.", "model") };
  if (b.previous_response_id != null)
    return {
      status: 400,
      body: err(
        `Previous response with id '${b.previous_response_id}' not found.`,
        "previous_response_id",
        "previous_response_not_found",
      ),
    };
  if (typeof b.input !== "string" && !Array.isArray(b.input))
    return { status: 400, body: err("Missing required parameter: 'input'.", "input") };
  const calls = new Set<string>();
  for (const i of inputItems(b)) {
    if (i.type === "function_call") calls.add(i.call_id);
    if (i.type === "function_call_output" && !calls.has(i.call_id))
      return {
        status: 400,
        body: err(`No tool call found for function call output with call_id ${i.call_id}.`, "input"),
      };
    if (i.type === "reasoning" && !(b.store === false && unseal(i.encrypted_content))) {
      const why =
        b.store === false
          ? " Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input."
          : "";
      return { status: 404, body: err(`Item with id '${i.id}' not found.${why}`, "input") };
    }
  }
  return undefined;
}

/** Output items and usage of the answer (the shared plan, plus reasoning and web searches). */
function answer(b: any, view: View, issued: { n: number }) {
  const plan = planReply(view, "call_");
  const output: Item[] = [];
  if (isReasoningModel(b.model)) {
    const summary = b.reasoning?.summary
      ? [{ type: "summary_text", text: `**Answering** Thinking about: ${view.lastUserText}` }]
      : [];
    const wantsSealed = Array.isArray(b.include) && b.include.includes("reasoning.encrypted_content");
    output.push({
      type: "reasoning",
      id: id("rs_"),
      summary,
      ...(wantsSealed ? { encrypted_content: seal(b.model, ++issued.n) } : {}),
    });
  }
  const webTool = (b.tools ?? []).some(isWebSearch);
  const searches =
    webTool && !view.toolResults.length && (/search/i.test(view.lastUserText) || isWebSearch(b.tool_choice))
      ? Math.min(/\btwice\b/i.test(view.lastUserText) ? 2 : 1, b.max_tool_calls ?? Infinity)
      : 0;
  for (let i = 0; i < searches; i++)
    output.push({
      type: "web_search_call",
      id: id("ws_"),
      status: "completed",
      action: { type: "search", query: view.lastUserText, sources: [{ type: "url", url: CITATION.url }] },
    });
  const incomplete = plan.finish === "length";
  if (plan.toolCalls.length === 0)
    output.push({
      type: "message",
      id: id("msg_"),
      status: incomplete ? "incomplete" : "completed",
      role: "assistant",
      content: [
        {
          type: "output_text",
          text: plan.text,
          annotations: searches
            ? [{ type: "url_citation", start_index: 0, end_index: plan.text.length, ...CITATION }]
            : [],
          logprobs: [],
        },
      ],
    });
  for (const t of plan.toolCalls)
    output.push({
      type: "function_call",
      id: id("fc_"),
      call_id: t.id,
      name: t.name,
      arguments: JSON.stringify(t.args),
      status: "completed",
    });
  const reasoning = isReasoningModel(b.model) ? REASONING_TOKENS : 0;
  const outputTokens = plan.usage.output + reasoning;
  const usage = {
    input_tokens: plan.usage.input,
    input_tokens_details: { cached_tokens: plan.usage.cached },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: plan.usage.input + outputTokens,
  };
  return { output, usage, incomplete };
}

/** The response object around an output (the fields OpenAI always sends). */
function responseObject(b: any, fields: Item): Item {
  return {
    id: id("resp_"),
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status: "completed",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    max_tool_calls: b.max_tool_calls ?? null,
    model: b.model,
    output: [],
    parallel_tool_calls: b.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: isReasoningModel(b.model)
      ? { effort: b.reasoning?.effort ?? "medium", summary: b.reasoning?.summary ?? null }
      : { effort: null, summary: null },
    service_tier: "default",
    store: b.store !== false,
    temperature: b.temperature ?? 1,
    text: b.text ?? { format: { type: "text" }, verbosity: "medium" },
    tool_choice: b.tool_choice ?? "auto",
    tools: b.tools ?? [],
    top_p: b.top_p ?? 1,
    truncation: b.truncation ?? "disabled",
    usage: null,
    user: null,
    metadata: b.metadata ?? {},
    ...fields,
  };
}

/** The events of one output item, from added to done. */
function itemEvents(item: Item, output_index: number): Item[] {
  const at = { item_id: item.id, output_index };
  if (item.type === "reasoning") {
    const text: string | undefined = item.summary[0]?.text;
    const summary = text
      ? [
          {
            type: "response.reasoning_summary_part.added",
            ...at,
            summary_index: 0,
            part: { type: "summary_text", text: "" },
          },
          ...pieces(text).map((delta) => ({
            type: "response.reasoning_summary_text.delta",
            ...at,
            summary_index: 0,
            delta,
          })),
          { type: "response.reasoning_summary_text.done", ...at, summary_index: 0, text },
          {
            type: "response.reasoning_summary_part.done",
            ...at,
            summary_index: 0,
            part: { type: "summary_text", text },
          },
        ]
      : [];
    return [
      { type: "response.output_item.added", output_index, item: { type: "reasoning", id: item.id, summary: [] } },
      ...summary,
      { type: "response.output_item.done", output_index, item },
    ];
  }
  if (item.type === "web_search_call")
    return [
      {
        type: "response.output_item.added",
        output_index,
        item: { type: "web_search_call", id: item.id, status: "in_progress", action: { type: "search" } },
      },
      { type: "response.web_search_call.in_progress", ...at },
      { type: "response.web_search_call.searching", ...at },
      { type: "response.web_search_call.completed", ...at },
      { type: "response.output_item.done", output_index, item },
    ];
  if (item.type === "function_call")
    return [
      { type: "response.output_item.added", output_index, item: { ...item, arguments: "", status: "in_progress" } },
      ...fragments(item.arguments).map((delta) => ({ type: "response.function_call_arguments.delta", ...at, delta })),
      { type: "response.function_call_arguments.done", ...at, name: item.name, arguments: item.arguments },
      { type: "response.output_item.done", output_index, item },
    ];
  const part = item.content[0];
  const inPart = { ...at, content_index: 0 };
  return [
    {
      type: "response.output_item.added",
      output_index,
      item: { ...item, status: "in_progress", content: [] },
    },
    { type: "response.content_part.added", ...inPart, part: { ...part, text: "", annotations: [] } },
    ...pieces(part.text).map((delta) => ({ type: "response.output_text.delta", ...inPart, delta, logprobs: [] })),
    ...part.annotations.map((annotation: Item, annotation_index: number) => ({
      type: "response.output_text.annotation.added",
      ...inPart,
      annotation_index,
      annotation,
    })),
    { type: "response.output_text.done", ...inPart, text: part.text, logprobs: [] },
    { type: "response.content_part.done", ...inPart, part },
    { type: "response.output_item.done", output_index, item },
  ];
}

/**
 * Every event of a streamed response: its items, then `error` when given, then the terminal event
 * for `final` (null: the stream closes without one).
 */
function streamEvents(start: Item, final: Item | null, output: Item[], error?: Item): string[] {
  const pending = { ...start, status: "in_progress", output: [], usage: null };
  const events: Item[] = [
    { type: "response.created", response: pending },
    { type: "response.in_progress", response: pending },
  ];
  for (const [i, item] of output.entries()) events.push(...itemEvents(item, i));
  if (error) events.push(error);
  if (final)
    events.push({
      type: final.status === "failed" ? "response.failed" : `response.${final.status}`,
      response: final,
    });
  return events.map((e, sequence_number) => sseData({ ...e, sequence_number }, e.type));
}

const TRIGGER = /\b(fail|error-event):([a-z_]+)/;

/** Answers `POST /v1/responses`; `issued` counts the encrypted reasoning handed out. */
export async function answerResponses(ctx: FakeContext, issued: { n: number }): Promise<void> {
  const b = ctx.body;
  const bad = refusal(b);
  if (bad) return ctx.json(bad.status, bad.body);
  const view = viewFromResponses(b);
  const trigger = TRIGGER.exec(view.lastUserText);
  if (trigger?.[1] === "error-event" && !b.stream)
    return ctx.json(trigger[2] === "rate_limit_exceeded" ? 429 : 500, {
      error: { message: `fake ${trigger[2]}`, type: trigger[2], param: null, code: trigger[2] },
    });
  const { output, usage, incomplete } = answer(b, view, issued);
  const start = responseObject(b, {});
  let final: Item | null = {
    ...start,
    status: incomplete ? "incomplete" : "completed",
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    output,
    usage,
  };
  if (trigger?.[1] === "fail")
    final = {
      ...start,
      status: "failed",
      error: { code: trigger[2], message: `fake failure: ${trigger[2]}` },
      output: [],
    };
  if (!b.stream) return ctx.json(200, final);
  const error =
    trigger?.[1] === "error-event"
      ? { type: "error", code: trigger[2], message: `fake ${trigger[2]}`, param: null }
      : undefined;
  if (error || /cut-short/.test(view.lastUserText)) final = null;
  await ctx.sse(streamEvents(start, final, final?.status === "failed" ? [] : output, error));
}
