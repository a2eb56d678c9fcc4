/**
 * The Responses API through a running Tollgate with the official OpenAI SDK:
 * mock models offline, and a priced OpenAI-format provider on a loopback fake
 * (translation to chat, stored responses, previous_response_id, tools,
 * structured output, streaming events, billing, policies, the log).
 */
import OpenAI from "openai";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

const IN_PRICE = 2_000_000n; // micro-USD per million input tokens ($2)
const OUT_PRICE = 10_000_000n; // ($10)
const cost = (input: number, output: number) =>
  (BigInt(input) * IN_PRICE + BigInt(output) * OUT_PRICE + 999_999n) / 1_000_000n;

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

describe(`Responses API (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-priced" });
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const x = await team(t, "Responses Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
    await grantCredits(t, slug, "5");
    const p = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Priced",
      slug: "priced",
      format: "openai",
      baseUrl: `${fake.url}/v1`,
      apiKey: "sk-priced",
      models: [{ id: "m1", maxOutputTokens: 1000, inputPricePerMillion: "2", outputPricePerMillion: "10" }],
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    for (const project of ["main-app", "side-app"])
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: project, slug: project })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/main-app/keys`, { name: "live", environment: "live" })).body
      .key;
    otherKey = (await owner.post(`/api/v1/orgs/${slug}/projects/side-app/keys`, { name: "live", environment: "live" }))
      .body.key;
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const openai = (k = key) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0 });
  const ledgerSum = async () =>
    BigInt(
      (
        await rows<{ s: string }>(
          t,
          sql`select coalesce(sum(amount_micro_usd),0)::text as s from ledger_entries where org_id = ${orgId}`,
        )
      )[0]!.s,
    );

  it("responses.create with a mock model: output_text, usage, a stored response id and the cost header", async () => {
    const { data, response } = await openai()
      .responses.create({ model: "mock/echo", input: "hello responses" })
      .withResponse();
    expect(data.object).toBe("response");
    expect(data.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(data.status).toBe("completed");
    expect(data.output_text).toBe("hello responses");
    expect(data.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(data.usage?.output_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.000000");
    expect(data.id).toBe(`resp_${response.headers.get("x-request-id")!.replace(/-/g, "")}`);

    const got = await openai().responses.retrieve(data.id);
    expect(got.id).toBe(data.id);
    expect(got.output_text).toBe("hello responses");
  });

  it("previous_response_id carries the conversation (instructions are not carried); store: false keeps nothing", async () => {
    const first = await openai().responses.create({
      model: "priced/m1",
      instructions: "be brief",
      input: "my name is Ada",
    });
    expect(first.output_text).toBe("[be brief] echo: my name is Ada");
    const second = await openai().responses.create({
      model: "priced/m1",
      previous_response_id: first.id,
      input: [{ role: "user", content: "what is my name?" }],
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe("echo: what is my name? (turns: 2)");
    expect(fake.last().body.messages).toEqual([
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: "[be brief] echo: my name is Ada" },
      { role: "user", content: "what is my name?" },
    ]);
    // A third turn follows the whole chain.
    const third = await openai().responses.create({
      model: "priced/m1",
      previous_response_id: second.id,
      input: "and?",
    });
    expect(third.output_text).toBe("echo: and? (turns: 3)");

    const unstored = await openai().responses.create({ model: "mock/echo", input: "forget me", store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    await expect(openai().responses.retrieve(unstored.id)).rejects.toMatchObject({ status: 404 });
    const chained = await fetch(`${base}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", input: "hi", previous_response_id: unstored.id }),
    });
    expect(chained.status).toBe(400);
    expect((await chained.json()).error).toMatchObject({
      code: "previous_response_not_found",
      param: "previous_response_id",
      type: "invalid_request_error",
    });
  });

  it("input_items lists a stored turn's input as sent (redacted by the policy), newest first, paged", async () => {
    const first = await openai().responses.create({ model: "mock/echo", input: "turn one" });
    const r = await openai().responses.create({
      model: "mock/echo",
      previous_response_id: first.id,
      instructions: "not an item",
      input: [
        { role: "developer", content: "be kind" },
        {
          role: "user",
          content: [
            { type: "input_text", text: "look" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "auto" },
          ],
        },
      ],
    });
    const page = await openai().responses.inputItems.list(r.id);
    expect(page.data.map((i) => (i.type === "message" ? i.role : i.type))).toEqual(["user", "developer"]);
    expect(page.data[0]).toMatchObject({
      type: "message",
      content: [
        { type: "input_text", text: "look" },
        { type: "input_image", image_url: "https://example.com/a.png" },
      ],
    });
    const asc = await openai().responses.inputItems.list(r.id, { order: "asc", limit: 1 });
    expect(asc.data).toHaveLength(1);
    expect(asc.data[0]).toMatchObject({ role: "developer" });
    expect(asc.has_more).toBe(true);
    await expect(openai(otherKey).responses.inputItems.list(r.id)).rejects.toMatchObject({ status: 404 });
  });

  it("stored responses belong to the project: another project's key finds nothing; delete removes it", async () => {
    const r = await openai().responses.create({ model: "mock/echo", input: "mine" });
    await expect(openai(otherKey).responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
    await expect(openai(otherKey).responses.delete(r.id)).rejects.toMatchObject({ status: 404 });
    const other = await fetch(`${base}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${otherKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", input: "hi", previous_response_id: r.id }),
    });
    expect(other.status).toBe(400);
    await openai().responses.delete(r.id);
    await expect(openai().responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
    const again = await fetch(`${base}/v1/responses/${r.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(404);
    expect((await again.json()).error.code).toBe("response_not_found");
    // Sealed at rest: the stored row does not hold the text.
    const [row] = await rows<{ payload: string }>(t, sql`select payload from stored_responses limit 1`);
    expect(row!.payload).toMatch(/^v1\./);
  });

  it("function tools: a function_call item, then its output sent back with previous_response_id", async () => {
    const first = await openai().responses.create({
      model: "priced/m1",
      input: "what is the weather in Paris?",
      tools: [WEATHER],
    });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    if (call?.type !== "function_call") throw new Error("no call");
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
    expect(fake.last().body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: WEATHER.parameters,
          strict: false,
        },
      },
    ]);
    const second = await openai().responses.create({
      model: "priced/m1",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny, 21C" }],
      tools: [WEATHER],
    });
    expect(second.output_text).toBe("Tool said: sunny, 21C");
    const sent = fake.last().body.messages;
    expect(sent.at(-2)).toMatchObject({
      role: "assistant",
      tool_calls: [{ id: call.call_id, type: "function", function: { name: "get_weather" } }],
    });
    expect(sent.at(-1)).toEqual({ role: "tool", tool_call_id: call.call_id, content: "sunny, 21C" });
  });

  it("structured output: text.format json_schema becomes response_format and parses", async () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const r = await openai().responses.create({
      model: "priced/m1",
      input: "json please",
      text: { format: { type: "json_schema", name: "reply", schema, strict: true } },
    });
    expect(fake.last().body.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "reply", schema, strict: true },
    });
    expect(JSON.parse(r.output_text)).toEqual({ answer: "json please" });
    expect(r.text?.format).toMatchObject({ type: "json_schema", name: "reply" });
  });

  it("streaming: typed events in order with sequence numbers, the text as deltas, the final response stored", async () => {
    const stream = await openai().responses.create({ model: "priced/m1", input: "stream me please", stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events
      .filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === "response.output_text.delta")
      .map((e) => e.delta)
      .join("");
    expect(text).toBe("echo: stream me please");
    const done = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent & { tollgate?: { cost_usd: string } };
    const u = done.response.usage!;
    expect(done.tollgate?.cost_usd).toBe((Number(cost(u.input_tokens, u.output_tokens)) / 1e6).toFixed(6));
    const stored = await openai().responses.retrieve(done.response.id);
    expect(stored.output_text).toBe("echo: stream me please");
    expect(fake.last().body.stream_options).toEqual({ include_usage: true });
  });

  it("streaming function calls: output_item.added, argument deltas, arguments.done (SDK's stream helper)", async () => {
    const stream = openai().responses.stream({
      model: "priced/m1",
      input: "weather in Tokyo?",
      tools: [WEATHER],
    });
    const deltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    const call = final.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ name: "get_weather", status: "completed" });
    if (call?.type !== "function_call") throw new Error("no call");
    expect(deltas.join("")).toBe(call.arguments);
    expect(deltas.length).toBeGreaterThan(1);
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
  });

  it("billing: charged exactly the reported usage at the model's price, in the header, the ledger and the log", async () => {
    await t.app.flushLogs();
    const before = await ledgerSum();
    const { data, response } = await openai()
      .responses.create({ model: "priced/m1", input: "count the cost", max_output_tokens: 50 })
      .withResponse();
    const expected = cost(data.usage!.input_tokens, data.usage!.output_tokens);
    expect(expected).toBeGreaterThan(0n);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe((Number(expected) / 1e6).toFixed(6));
    await t.app.flushLogs();
    expect(await ledgerSum()).toBe(before - expected);
    const id = response.headers.get("x-request-id")!;
    const [log] = await rows<{ endpoint: string; cost: string; model: string }>(
      t,
      sql`select endpoint, cost_micro_usd::text as cost, model_served as model from request_logs where id = ${id}`,
    );
    expect(log).toEqual({ endpoint: "responses", cost: expected.toString(), model: "priced/m1" });
    expect(fake.last().body.max_completion_tokens).toBe(50);
  });

  it("policies: a blocked input never reaches upstream; a redacted one is stored redacted", async () => {
    const off = { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "off" };
    expect(
      (
        await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
          pii: { ...off, card: "block", email: "redact" },
          promptInjection: { action: "off" },
          rules: [],
        })
      ).status,
    ).toBe(200);
    try {
      const upstream = fake.requests.length;
      await expect(
        openai().responses.create({ model: "priced/m1", input: "charge 4111 1111 1111 1111" }),
      ).rejects.toMatchObject({ status: 403, code: "policy_violation" });
      expect(fake.requests.length).toBe(upstream);

      const r = await openai().responses.create({ model: "priced/m1", input: "mail ada@example.com today" });
      expect(JSON.stringify(fake.last().body)).not.toContain("ada@example.com");
      expect(r.output_text).not.toContain("ada@example.com");
      const next = await openai().responses.create({ model: "priced/m1", previous_response_id: r.id, input: "ok" });
      expect(next.status).toBe("completed");
      expect(JSON.stringify(fake.last().body)).not.toContain("ada@example.com");
    } finally {
      await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
        pii: off,
        promptInjection: { action: "off" },
        rules: [],
      });
    }
  });

  it("bad requests: 400 in OpenAI's shape naming the parameter; built-in tools are refused, not dropped", async () => {
    const post = async (body: unknown) => {
      const r = await fetch(`${base}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, error: (await r.json()).error };
    };
    expect(await post({ model: "mock/echo" })).toMatchObject({ status: 400, error: { param: "input" } });
    expect(await post({ model: "mock/echo", input: "x", tools: [{ type: "web_search" }] })).toMatchObject({
      status: 400,
      error: { code: "unsupported_tool", param: "tools[0].type" },
    });
    expect(await post({ model: "mock/echo", input: [{ role: "robot", content: "x" }] })).toMatchObject({
      status: 400,
      error: { param: "input[0].role" },
    });
    expect(await post({ model: "mock/echo", input: "x", max_output_tokens: -1 })).toMatchObject({
      status: 400,
      error: { param: "max_output_tokens" },
    });
    expect(await post({ model: "mock/echo", input: "x", temperature: "hot" })).toMatchObject({
      status: 400,
      error: { code: "invalid_temperature", param: "temperature", message: "`temperature` must be a number." },
    });
    expect(await post({ model: "mock/echo", input: "x", metadata: { a: 1 } })).toMatchObject({
      status: 400,
      error: { code: "invalid_metadata", param: "metadata.a" },
    });
    expect(await post({ model: "mock/echo", input: "x", background: true })).toMatchObject({
      status: 400,
      error: { code: "unsupported_background" },
    });
  });
});
