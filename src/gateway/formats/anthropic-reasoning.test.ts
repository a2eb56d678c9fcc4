/** Reasoning (thinking) across the Anthropic translation: effort to thinking, signed reasoning back and forth. */
import { describe, expect, it } from "vitest";
import { assertValidSequence } from "../../../test/helpers/anthropic-events.js";
import { toAnthropicRequest } from "../providers/anthropic/index.js";
import { thinksAdaptively } from "../providers/anthropic/request.js";
import type { ChatChunk, ChatRequest, ChatResponse } from "../types.js";
import { AnthropicStreamTranslator, canonicalToAnthropicResponse } from "./anthropic-inbound.js";

describe("reasoning across the Anthropic translation", () => {
  const ask = (extra: Partial<ChatRequest>): ChatRequest => ({
    model: "x",
    messages: [{ role: "user", content: "hi" }],
    reasoning_effort: "high",
    ...extra,
  });

  it("a thinking budget below max_tokens, never raising it; none under the minimum or for minimal effort", () => {
    const high = toAnthropicRequest(
      ask({ max_tokens: 20_000, temperature: 0.3, top_p: 0.5 }),
      "claude-sonnet-4-5",
    ).body;
    expect(high).toMatchObject({ max_tokens: 20_000, thinking: { type: "enabled", budget_tokens: 16384 } });
    expect(high.temperature).toBeUndefined();
    expect(high.top_p).toBeUndefined();
    const capped = toAnthropicRequest(ask({ max_tokens: 3000, top_p: 0.97 }), "claude-sonnet-4-5").body;
    expect(capped).toMatchObject({ max_tokens: 3000, thinking: { type: "enabled", budget_tokens: 1976 }, top_p: 0.97 });
    expect(toAnthropicRequest(ask({ max_tokens: 2047 }), "claude-sonnet-4-5").body.thinking).toBeUndefined();
    expect(toAnthropicRequest(ask({ reasoning_effort: "minimal" }), "claude-sonnet-4-5").body.thinking).toBeUndefined();
    const json = ask({ response_format: { type: "json_object" } });
    expect(toAnthropicRequest(json, "claude-sonnet-4-5").body.thinking).toBeUndefined();
  });

  it("adaptive thinking from Claude 4.6 on, whatever the id's shape", () => {
    for (const id of [
      "claude-opus-4-6",
      "claude-sonnet-4-6",
      "claude-opus-4-7",
      "claude-sonnet-5",
      "anthropic.claude-opus-4-7-v1",
    ])
      expect(thinksAdaptively(id), id).toBe(true);
    for (const id of [
      "claude-sonnet-4-5",
      "claude-sonnet-4-20250514",
      "claude-3-7-sonnet-20250219",
      "claude-haiku-4-5-20251001",
      "my-model",
    ])
      expect(thinksAdaptively(id), id).toBe(false);
    const body = toAnthropicRequest(ask({ reasoning_effort: "low" }), "claude-opus-4-7").body;
    expect(body).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "low" }, max_tokens: 4096 });
  });

  it("signed reasoning goes back as the leading thinking block; unsigned, or with thinking off, it is left out", () => {
    const messages: ChatRequest["messages"] = [
      { role: "user", content: "weather?" },
      {
        role: "assistant",
        content: null,
        reasoning_content: "I should call the tool",
        reasoning_signature: "sig",
        tool_calls: [{ id: "t1", type: "function", function: { name: "w", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "t1", content: "18C" },
    ];
    const on = toAnthropicRequest(ask({ messages }), "claude-sonnet-4-5").body;
    expect(on.messages[1]!.content).toEqual([
      { type: "thinking", thinking: "I should call the tool", signature: "sig" },
      { type: "tool_use", id: "t1", name: "w", input: {} },
    ]);
    const off = toAnthropicRequest(ask({ messages, reasoning_effort: undefined }), "claude-sonnet-4-5").body;
    expect(off.messages[1]!.content).toEqual([{ type: "tool_use", id: "t1", name: "w", input: {} }]);
    // The loop's turn has no signed thinking: the request goes without thinking (one configuration per turn).
    const unsigned = messages.map((m) => (m.role === "assistant" ? { ...m, reasoning_signature: null } : m));
    expect(toAnthropicRequest(ask({ messages: unsigned }), "claude-sonnet-4-5").body.thinking).toBeUndefined();
  });

  it("answers: a signed reasoning is a thinking block first, whole and streamed; unsigned reasoning is left out", () => {
    const res = (message: Partial<ChatResponse["choices"][0]["message"]>): ChatResponse => ({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "answer", ...message }, finish_reason: "stop" }],
    });
    expect(canonicalToAnthropicResponse(res({ reasoning_content: "hmm", reasoning_signature: "s1" })).content).toEqual([
      { type: "thinking", thinking: "hmm", signature: "s1" },
      { type: "text", text: "answer" },
    ]);
    expect(canonicalToAnthropicResponse(res({ reasoning_content: "hmm" })).content).toEqual([
      { type: "text", text: "answer" },
    ]);

    const base = { id: "c", object: "chat.completion.chunk" as const, created: 1, model: "m" };
    const ch = (delta: ChatChunk["choices"][0]["delta"], finish: ChatChunk["choices"][0]["finish_reason"] = null) => ({
      ...base,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const signed = new AnthropicStreamTranslator("msg_r", "m");
    const events = [
      ...signed.push(ch({ role: "assistant", reasoning_content: "step one, " })),
      ...signed.push(ch({ reasoning_content: "step two" })),
      ...signed.push(ch({ reasoning_signature: "s2" })),
      ...signed.push(ch({ content: "done" }, "stop")),
      ...signed.finish(),
    ];
    assertValidSequence(events);
    const blocks = events.filter((e) => e.type === "content_block_start").map((e) => e.content_block);
    expect(blocks).toEqual([
      { type: "thinking", thinking: "", signature: "" },
      { type: "text", text: "" },
    ]);
    const deltas = events.filter((e) => e.type === "content_block_delta" && e.index === 0).map((e) => e.delta);
    expect(deltas).toEqual([
      { type: "thinking_delta", thinking: "step one, step two" },
      { type: "signature_delta", signature: "s2" },
    ]);

    const unsigned = new AnthropicStreamTranslator("msg_u", "m");
    const plain = [
      ...unsigned.push(ch({ role: "assistant", reasoning_content: "quiet thoughts" })),
      ...unsigned.push(ch({ content: "done" }, "stop")),
      ...unsigned.finish(),
    ];
    assertValidSequence(plain);
    expect(plain.filter((e) => e.type === "content_block_start").map((e) => e.content_block)).toEqual([
      { type: "text", text: "" },
    ]);
  });
});
