/**
 * The Responses API served natively by OpenAI (the built-in provider, on a
 * faithful fake of OpenAI's /v1/responses on loopback), through a running
 * Tollgate with the official OpenAI SDK: the request goes as written but
 * stateless (`store: false`, the conversation replayed from Tollgate's store,
 * encrypted reasoning carried across turns), built-in tools work and are
 * billed per call with a capped hold, the output policy applies to streamed
 * text and the stored response, and another API's targets get the chat
 * translation only when nothing would be lost.
 */
import OpenAI from "openai";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

/** gpt-4o's and gpt-5's prices in the price library, micro-USD per million tokens; web searches per thousand. */
const GPT_4O = { input: 2_500_000n, cached: 1_250_000n, output: 10_000_000n };
const GPT_5 = { input: 1_250_000n, cached: 125_000n, output: 10_000_000n };
const WEB_SEARCH_PER_K = 10_000_000n;
type Rates = typeof GPT_4O;
type Usage = OpenAI.Responses.ResponseUsage;
const charge = (r: Rates, u: Usage, searches = 0) => {
  const cached = BigInt(u.input_tokens_details.cached_tokens);
  const n =
    (BigInt(u.input_tokens) - cached) * r.input +
    cached * r.cached +
    BigInt(u.output_tokens) * r.output +
    BigInt(searches) * WEB_SEARCH_PER_K * 1_000n;
  return (n + 999_999n) / 1_000_000n;
};
const usd = (micro: bigint) => (Number(micro) / 1e6).toFixed(6);
const OFF = { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "off" };

describe(`Responses API native on OpenAI (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let compat: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    compat = await startOpenAIFake({ apiKey: "sk-compat" });
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-oa",
        OPENAI_BASE_URL: `${fake.url}/v1`,
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const x = await team(t, "Native Responses Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
    await grantCredits(t, slug, "20");
    // An OpenAI-compatible provider of the org's own: chat completions only.
    const p = await owner.post(`/api/v1/orgs/${slug}/providers`, {
      name: "Compat",
      slug: "compat",
      format: "openai",
      baseUrl: `${compat.url}/v1`,
      apiKey: "sk-compat",
      models: [{ id: "m1", maxOutputTokens: 1000, inputPricePerMillion: "2", outputPricePerMillion: "10" }],
    });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "native-app", slug: "native-app" })).status).toBe(
      201,
    );
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/native-app/keys`, { name: "live", environment: "live" }))
      .body.key;
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await compat?.close();
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const sent = () => fake.last().body;
  const setPolicy = (policy: Record<string, unknown>) =>
    owner.put(`/api/v1/orgs/${slug}/security-policy`, {
      pii: OFF,
      promptInjection: { action: "off" },
      rules: [],
      ...policy,
    });
  const ledgerSum = async () =>
    BigInt(
      (
        await rows<{ s: string }>(
          t,
          sql`select coalesce(sum(amount_micro_usd),0)::text as s from ledger_entries where org_id = ${orgId}`,
        )
      )[0]!.s,
    );

  it("the request goes to OpenAI's /v1/responses as written, stateless; the answer has Tollgate's id and is stored", async () => {
    await t.app.flushLogs();
    const before = await ledgerSum();
    const { data, response } = await openai()
      .responses.create({
        model: "gpt-4o",
        instructions: "be brief",
        input: "hello native",
        prompt_cache_key: "pck-1",
        metadata: { team: "a" },
        // A field Tollgate does not know reaches OpenAI unchanged.
        ...({ x_vendor_flag: true } as object),
      })
      .withResponse();
    expect(fake.last().path).toBe("/v1/responses");
    expect(sent()).toMatchObject({
      model: "gpt-4o",
      instructions: "be brief",
      input: [{ role: "user", content: "hello native" }],
      store: false,
      prompt_cache_key: "pck-1",
      x_vendor_flag: true,
    });
    expect(sent().include).toBeUndefined(); // not a reasoning model
    expect(data.id).toBe(`resp_${response.headers.get("x-request-id")!.replace(/-/g, "")}`);
    expect(data).toMatchObject({ model: "openai/gpt-4o", store: true, previous_response_id: null });
    expect(data.output_text).toBe("[be brief] echo: hello native");
    expect(response.headers.get("x-tollgate-provider")).toBe("openai");

    const expected = charge(GPT_4O, data.usage!);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(expected));
    await t.app.flushLogs();
    expect(await ledgerSum()).toBe(before - expected);
    const [log] = await rows<{ endpoint: string; cost: string }>(
      t,
      sql`select endpoint, cost_micro_usd::text as cost from request_logs where id = ${response.headers.get("x-request-id")}`,
    );
    expect(log).toEqual({ endpoint: "responses", cost: expected.toString() });

    const got = await openai().responses.retrieve(data.id);
    expect(got.output).toEqual(data.output);
    const items = await openai().responses.inputItems.list(data.id);
    expect(items.data).toMatchObject([{ type: "message", role: "user", content: "hello native" }]);
  });

  it("reasoning is carried across turns: encrypted upstream, replayed from Tollgate's store, hidden unless asked", async () => {
    const first = await openai().responses.create({
      model: "gpt-5",
      input: "think about cats",
      reasoning: { effort: "low", summary: "auto" },
    });
    expect(sent().include).toEqual(["reasoning.encrypted_content"]);
    expect(first.output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text" }] });
    expect(first.output[0]).not.toHaveProperty("encrypted_content");
    expect(first.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);

    const { data: second, response } = await openai()
      .responses.create({ model: "gpt-5", previous_response_id: first.id, input: "and dogs?" })
      .withResponse();
    // The fake answers 404 to a reasoning item it cannot find statelessly: this one carried its encrypted content.
    expect(second.status).toBe("completed");
    const input = sent().input as Array<Record<string, unknown>>;
    expect(sent().previous_response_id).toBeUndefined();
    expect(input.map((i) => i.type ?? i.role)).toEqual(["message", "reasoning", "message", "user"]);
    expect(input[0]).toEqual({ type: "message", role: "user", content: "think about cats" });
    expect(input[1]).toMatchObject({ type: "reasoning", id: first.output[0]!.id });
    expect(typeof input[1]!.encrypted_content).toBe("string");
    expect(input[2]).toMatchObject({ type: "message", role: "assistant" });
    expect(input[2]).not.toHaveProperty("id");
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(charge(GPT_5, second.usage!)));

    // Asked for: the client gets the encrypted content too.
    const third = await openai().responses.create({
      model: "gpt-5",
      input: "and birds?",
      include: ["reasoning.encrypted_content"],
    });
    expect(typeof (third.output[0] as { encrypted_content?: unknown }).encrypted_content).toBe("string");
  });

  it("web search: served by OpenAI, billed per search, the hold capped by max_tool_calls (10 unless set)", async () => {
    const { data, response } = await openai()
      .responses.create({ model: "gpt-4o", input: "search twice for news", tools: [{ type: "web_search" }] })
      .withResponse();
    expect(sent().max_tool_calls).toBe(10);
    expect(data.output.filter((o) => o.type === "web_search_call")).toHaveLength(2);
    expect(data).toMatchObject({ max_tool_calls: null });
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(charge(GPT_4O, data.usage!, 2)));

    const capped = await openai().responses.create({
      model: "gpt-4o",
      input: "search twice for news",
      tools: [{ type: "web_search" }],
      // OpenAI's parameter; this SDK version does not type it yet.
      ...({ max_tool_calls: 1 } as object),
    });
    expect(sent().max_tool_calls).toBe(1);
    expect(capped.output.filter((o) => o.type === "web_search_call")).toHaveLength(1);

    // The chained turn replays the message, not the search calls.
    await openai().responses.create({ model: "gpt-4o", previous_response_id: data.id, input: "thanks" });
    expect((sent().input as Array<{ type?: string }>).some((i) => i.type === "web_search_call")).toBe(false);
  });

  it("a tool the gateway cannot meter is refused; built-in tools never go to a provider that only speaks chat", async () => {
    const post = async (body: unknown) => {
      const r = await fetch(`${base}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, error: (await r.json()).error };
    };
    const upstream = fake.requests.length + compat.requests.length;
    expect(
      await post({ model: "gpt-4o", input: "x", tools: [{ type: "code_interpreter", container: { type: "auto" } }] }),
    ).toMatchObject({ status: 400, error: { code: "unsupported_tool", param: "tools[0].type" } });
    expect(await post({ model: "compat/m1", input: "x", tools: [{ type: "web_search" }] })).toMatchObject({
      status: 400,
      error: { code: "unsupported_tool", param: "tools[0].type" },
    });
    expect(fake.requests.length + compat.requests.length).toBe(upstream);
  });

  it("policies: input redaction is written back in the items; streamed output is redacted in deltas, done events, the completed and the stored response", async () => {
    expect(
      (
        await setPolicy({
          pii: { ...OFF, email: "redact" },
          rules: [{ name: "no-echo", type: "keyword", pattern: "echo", action: "redact" }],
        })
      ).status,
    ).toBe(200);
    try {
      const stream = openai().responses.stream({
        model: "gpt-4o",
        input: [{ role: "user", content: [{ type: "input_text", text: "mail ada@example.com now" }] }],
      });
      const deltas: string[] = [];
      const done: string[] = [];
      stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
      stream.on("response.output_text.done", (e) => done.push(e.text));
      const final = await stream.finalResponse();
      const input = sent().input as Array<{ content: Array<{ text: string }> }>;
      expect(input[0]!.content[0]!.text).not.toContain("ada@example.com");
      expect(input[0]!.content[0]!.text).toMatch(/^mail \[EMAIL_1\] now$/);
      const streamed = deltas.join("");
      expect(streamed).not.toContain("echo");
      expect(streamed).toContain("mail [EMAIL_1] now");
      expect(done).toEqual([streamed]);
      expect(final.output_text).toBe(streamed);
      const stored = await openai().responses.retrieve(final.id);
      expect(stored.output_text).toBe(streamed);
      const [row] = await rows<{ payload: string }>(
        t,
        sql`select payload from stored_responses where id = ${final.id}`,
      );
      expect(row!.payload).not.toContain("ada@example.com");
    } finally {
      await setPolicy({});
    }
  });

  it("fallbacks: a failing OpenAI falls back to a chat provider with the translated request; lossy requests do not", async () => {
    expect(
      (await owner.patch(`/api/v1/orgs/${slug}/projects/native-app`, { fallbackModels: ["compat/m1"] })).status,
    ).toBe(200);
    try {
      fake.setFault({ type: "status", status: 503 });
      const r = await openai().responses.create({ model: "gpt-4o", input: "hello fallback" });
      fake.setFault(undefined);
      expect(r.model).toBe("compat/m1");
      expect(compat.last().path).toBe("/v1/chat/completions");
      expect(r.output_text).toBe("echo: hello fallback");
      // Stored from the translated answer, and chained natively on the next turn.
      const next = await openai().responses.create({ model: "gpt-4o", previous_response_id: r.id, input: "again" });
      expect(fake.last().path).toBe("/v1/responses");
      expect(next.output_text).toBe("echo: again (turns: 2)");
      expect((sent().input as unknown[]).slice(0, 2)).toMatchObject([
        { type: "message", role: "user", content: [{ type: "input_text", text: "hello fallback" }] },
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "echo: hello fallback", annotations: [] }],
        },
      ]);

      fake.setFault({ type: "status", status: 503 });
      const before = fake.requests.length;
      const compatBefore = compat.requests.length;
      const lossy = await openai()
        .responses.create({ model: "gpt-4o", input: "search news", tools: [{ type: "web_search" }] })
        .catch((e) => e);
      // The failing upstream's circuit may be open by now: 502 or 503, from the upstream either way.
      expect([502, 503]).toContain(lossy.status);
      expect(fake.requests.length).toBeGreaterThan(before);
      expect(compat.requests.length).toBe(compatBefore);
    } finally {
      fake.setFault(undefined);
      await owner.patch(`/api/v1/orgs/${slug}/projects/native-app`, { fallbackModels: [] });
    }
  });
});
