/**
 * /v1/messages to an Anthropic-format provider is lossless: the request goes
 * upstream as the client wrote it (prompt caching, extended thinking,
 * documents, beta headers, fields Tollgate does not know), and the answer comes
 * back as the provider gave it (thinking blocks with signatures, citations,
 * server tool blocks) — streamed too — while the security policy, metering and
 * fallbacks still apply. A scripted Anthropic upstream on loopback records what
 * it received.
 */
import Anthropic from "@anthropic-ai/sdk";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { sseData, startFake } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

const MODEL = "anthropic/claude-sonnet-4-5";
const PDF = Buffer.from("%PDF-1.4 tiny test document").toString("base64");
const SIGNATURE = "EqQBCkYIBRgCIkB0ZXN0LXNpZ25hdHVyZQ";

/** What the scripted upstream answers: content blocks (text with citations, thinking…) and usage. */
const ANSWER = {
  thinking: "The user wants a summary. Let me read the document.",
  text: ["The document ", "is a tiny test PDF."],
  citation: {
    type: "page_location",
    cited_text: "tiny test document",
    document_index: 0,
    start_page_number: 1,
    end_page_number: 2,
  },
};
const USAGE = {
  input_tokens: 20,
  output_tokens: 12,
  cache_creation_input_tokens: 1000,
  cache_read_input_tokens: 2000,
  cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
};

function messageBody(model: string) {
  return {
    id: "msg_native_1",
    type: "message",
    role: "assistant",
    model,
    content: [
      { type: "thinking", thinking: ANSWER.thinking, signature: SIGNATURE },
      { type: "text", text: ANSWER.text.join(""), citations: [ANSWER.citation] },
    ],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: USAGE,
    container: null,
  };
}

function streamEvents(model: string, text: string[] = ANSWER.text): string[] {
  const ev = (e: Record<string, unknown>) => sseData(e, String(e.type));
  return [
    ev({
      type: "message_start",
      message: { ...messageBody(model), content: [], stop_reason: null, usage: { ...USAGE, output_tokens: 1 } },
    }),
    ev({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } }),
    ev({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: ANSWER.thinking } }),
    ev({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: SIGNATURE } }),
    ev({ type: "content_block_stop", index: 0 }),
    ev({ type: "content_block_start", index: 1, content_block: { type: "text", text: "", citations: [] } }),
    ev({ type: "content_block_delta", index: 1, delta: { type: "citations_delta", citation: ANSWER.citation } }),
    ...text.map((t) => ev({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: t } })),
    ev({ type: "content_block_stop", index: 1 }),
    ev({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 12 },
    }),
    ev({ type: "message_stop" }),
  ];
}

describe(`/v1/messages to Anthropic, lossless (${storageKind})`, () => {
  let t: TestApp;
  let upstream: FakeServer;
  let openaiFake: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  /** When set, the upstream streams these text pieces instead of the document summary. */
  let script: string[] | null = null;

  beforeAll(async () => {
    upstream = await startFake(
      (ctx) => {
        if (ctx.body.stream) return ctx.sse(streamEvents(ctx.body.model, script ?? ANSWER.text));
        const body = messageBody(ctx.body.model);
        if (script) body.content[1] = { type: "text", text: script.join(""), citations: [] } as never;
        return ctx.json(200, body);
      },
      (status, message) => ({
        type: "error",
        error: { type: status === 529 ? "overloaded_error" : "api_error", message },
      }),
    );
    openaiFake = await startOpenAIFake({ apiKey: "sk-openai-upstream" });
    t = await startTestApp({
      env: {
        ANTHROPIC_API_KEY: "sk-ant-upstream",
        ANTHROPIC_BASE_URL: upstream.url,
        OPENAI_API_KEY: "sk-openai-upstream",
        OPENAI_BASE_URL: `${openaiFake.url}/v1`,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const x = await team(t, "Native Co");
    ({ owner, slug } = x);
    orgId = x.org.id;
    await grantCredits(t, slug, "50");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "k", environment: "live" })).body.key;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([upstream?.close(), openaiFake?.close()]);
  });
  beforeEach(() => {
    script = null;
    upstream.setFault(undefined);
  });

  const anthropic = (headers: Record<string, string> = {}) =>
    new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0, defaultHeaders: headers });

  /** A request with what the translated path used to drop. */
  const rich = {
    model: MODEL,
    max_tokens: 2048,
    system: [
      {
        type: "text" as const,
        text: "You summarise documents.",
        cache_control: { type: "ephemeral" as const, ttl: "1h" as const },
      },
    ],
    thinking: { type: "enabled" as const, budget_tokens: 1024 },
    top_k: 5,
    messages: [
      {
        role: "user" as const,
        content: [
          {
            type: "document" as const,
            source: { type: "base64" as const, media_type: "application/pdf" as const, data: PDF },
            citations: { enabled: true },
            cache_control: { type: "ephemeral" as const },
          },
          { type: "text" as const, text: "Summarise this." },
        ],
      },
    ],
  };

  it("the request reaches Anthropic exactly as written (cache_control, thinking, documents, unknown fields, beta header)", async () => {
    const body = { ...rich, some_future_field: { on: true } };
    const res = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: {
        "x-api-key": key,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "extended-cache-ttl-2025-04-11",
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const sent = upstream.last();
    expect(sent.body).toEqual({ ...body, model: "claude-sonnet-4-5" });
    expect(sent.headers["anthropic-beta"]).toBe("extended-cache-ttl-2025-04-11");
    expect(sent.headers["x-api-key"]).toBe("sk-ant-upstream");
  });

  it("the answer comes back as Anthropic gave it: thinking with its signature, text with citations", async () => {
    const { data, response } = await anthropic().messages.create(rich).withResponse();
    expect(data.content).toEqual([
      { type: "thinking", thinking: ANSWER.thinking, signature: SIGNATURE },
      { type: "text", text: "The document is a tiny test PDF.", citations: [ANSWER.citation] },
    ]);
    expect(data.model).toBe(MODEL);
    expect(data.usage).toMatchObject({ cache_creation_input_tokens: 1000, cache_read_input_tokens: 2000 });
    expect(response.headers.get("x-tollgate-provider")).toBe("anthropic");
  });

  it("streamed: thinking, signature and citation deltas pass through; the SDK's final message is whole", async () => {
    const stream = anthropic().messages.stream(rich);
    const types: string[] = [];
    stream.on("streamEvent", (e) => types.push(e.type === "content_block_delta" ? e.delta.type : e.type));
    const final = await stream.finalMessage();
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      "thinking_delta",
      "signature_delta",
      "content_block_stop",
      "content_block_start",
      "citations_delta",
      "text_delta",
      "text_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(final.content).toEqual([
      { type: "thinking", thinking: ANSWER.thinking, signature: SIGNATURE },
      { type: "text", text: "The document is a tiny test PDF.", citations: [ANSWER.citation] },
    ]);
    expect(final.stop_reason).toBe("end_turn");
  });

  it("billing: cache writes and reads are charged at their own rates; the hold covers a document by the context window", async () => {
    await t.app.flushLogs();
    const { response } = await anthropic().messages.create(rich).withResponse();
    const id = response.headers.get("x-request-id")!;
    await t.app.flushLogs();
    const [log] = await rows<{ cost: string; usage: Record<string, number> }>(
      t,
      sql`select cost_micro_usd::text as cost, usage_details as usage from request_logs where id = ${id}`,
    );
    // claude-sonnet-4-5: $3/M input, $15/M output, $3.75/M cache write (5 min), $0.30/M cache read.
    const expected =
      (20n * 3_000_000n + 1000n * 3_750_000n + 2000n * 300_000n + 12n * 15_000_000n + 999_999n) / 1_000_000n;
    expect(log!.cost).toBe(expected.toString());
    expect(response.headers.get("x-tollgate-cost-usd")).toBe((Number(expected) / 1e6).toFixed(6));

    // The document makes the input unbounded by its bytes: the hold is the model's whole context window.
    const poor = await team(t, "Poor Co");
    await grantCredits(t, poor.slug, "0.05");
    expect(
      (await poor.owner.post(`/api/v1/orgs/${poor.slug}/projects`, { name: "Poor app", slug: "poor-app" })).status,
    ).toBe(201);
    const poorKey = (
      await poor.owner.post(`/api/v1/orgs/${poor.slug}/projects/poor-app/keys`, { name: "k", environment: "live" })
    ).body.key;
    const before = upstream.requests.length;
    const refused = await new Anthropic({ apiKey: poorKey, baseURL: base, maxRetries: 0 }).messages
      .create(rich)
      .catch((e) => e);
    expect(refused.status).toBe(402);
    expect(upstream.requests.length).toBe(before);
    // Without the document the same request fits.
    const small = await new Anthropic({ apiKey: poorKey, baseURL: base, maxRetries: 0 }).messages.create({
      ...rich,
      max_tokens: 100,
      thinking: undefined,
      messages: [{ role: "user", content: "Summarise nothing." }],
    });
    expect(small.content.at(-1)).toMatchObject({ type: "text" });
    void orgId;
  });

  it("server tools: a web search without max_uses is capped at 10 so the hold covers it; the search results make the input unbounded", async () => {
    const search = { type: "web_search_20250305", name: "web_search" };
    const ask = (tools: unknown[]) =>
      anthropic().messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: "user", content: "find it" }],
        tools,
      } as never);
    await ask([search]);
    expect(upstream.last().body.tools).toEqual([{ ...search, max_uses: 10 }]);
    await ask([{ ...search, max_uses: 2 }]);
    expect(upstream.last().body.tools).toEqual([{ ...search, max_uses: 2 }]);

    // $0.10 covers the plain request but not a search's unbounded input (200k tokens at $3/M) and ten searches.
    const small = await team(t, "Small Co");
    await grantCredits(t, small.slug, "0.10");
    expect((await small.owner.post(`/api/v1/orgs/${small.slug}/projects`, { name: "S", slug: "s-app" })).status).toBe(
      201,
    );
    const smallKey = (
      await small.owner.post(`/api/v1/orgs/${small.slug}/projects/s-app/keys`, { name: "k", environment: "live" })
    ).body.key;
    const client = new Anthropic({ apiKey: smallKey, baseURL: base, maxRetries: 0 });
    const body = { model: MODEL, max_tokens: 100, messages: [{ role: "user" as const, content: "find it" }] };
    const refused = await client.messages.create({ ...body, tools: [search] } as never).catch((e) => e);
    expect(refused.status).toBe(402);
    expect((await client.messages.create(body)).type).toBe("message");
  });

  it("policies: a redacted value is written back in place (the rest untouched); output text is redacted within its block", async () => {
    const off = { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "off" };
    await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
      pii: { ...off, email: "redact" },
      promptInjection: { action: "off" },
      rules: [],
    });
    try {
      const body = {
        ...rich,
        messages: [
          {
            role: "user" as const,
            content: [
              {
                type: "text" as const,
                text: "Mail ada@example.com the summary.",
                cache_control: { type: "ephemeral" as const },
              },
            ],
          },
        ],
      };
      script = ["Sure, writing to ", "bob@exam", "ple.org now."];
      const res = await anthropic().messages.create(body);
      const sent = upstream.last().body;
      expect(sent.messages[0].content).toEqual([
        { type: "text", text: "Mail [EMAIL_1] the summary.", cache_control: { type: "ephemeral" } },
      ]);
      expect(sent.system).toEqual(rich.system);
      expect(sent.thinking).toEqual(rich.thinking);
      expect(res.content[1]).toMatchObject({ type: "text", text: "Sure, writing to [EMAIL_2] now." });

      const streamed = await anthropic().messages.stream(body).finalMessage();
      expect(streamed.content[1]).toMatchObject({ type: "text", text: "Sure, writing to [EMAIL_2] now." });
      expect(streamed.content[0]).toMatchObject({ type: "thinking", signature: SIGNATURE });
    } finally {
      await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
        pii: off,
        promptInjection: { action: "off" },
        rules: [],
      });
    }
  });

  it("fallbacks: another format gets the translated request; content only Anthropic can take never leaves for it", async () => {
    expect(
      (
        await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, {
          fallbackModels: ["openai/gpt-4o-mini"],
        })
      ).status,
    ).toBe(200);
    try {
      upstream.setFault({ type: "status", status: 529 });
      const plain = await anthropic().messages.create({
        model: MODEL,
        max_tokens: 100,
        system: [{ type: "text", text: "terse", cache_control: { type: "ephemeral" } }],
        messages: [{ role: "user", content: "hello there" }],
      });
      expect(plain.content).toEqual([{ type: "text", text: "[terse] echo: hello there" }]);
      expect(openaiFake.last().body.messages[0]).toEqual({ role: "system", content: "terse" });

      // A PDF has an equivalent (a file part): the fallback gets it.
      const withPdf = await anthropic().messages.create({ ...rich, thinking: undefined });
      expect(withPdf.content).toEqual([{ type: "text", text: "[You summarise documents.] echo: Summarise this." }]);
      expect(openaiFake.last().body.messages[1].content[0]).toEqual({
        type: "file",
        file: { file_data: `data:application/pdf;base64,${PDF}`, filename: "document.pdf" },
      });
      // A search result has none: the request never leaves for another format.
      const openaiBefore = openaiFake.requests.length;
      const lossy = await anthropic()
        .messages.create({
          model: MODEL,
          max_tokens: 100,
          messages: [
            {
              role: "user",
              content: [
                {
                  type: "search_result",
                  source: "https://example.com/a",
                  title: "A",
                  content: [{ type: "text", text: "found text" }],
                },
                { type: "text", text: "use it" },
              ],
            },
          ],
        } as never)
        .catch((e) => e);
      // The failing upstream's circuit may be open by now: 502 or 503, from the upstream either way.
      expect([502, 503]).toContain(lossy.status);
      expect(lossy.error.error).toMatchObject({ source: "upstream" });
      expect(openaiFake.requests.length).toBe(openaiBefore);
    } finally {
      upstream.setFault(undefined);
      await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { fallbackModels: [] });
    }
  });
});
