/**
 * The gateway's API surface as a client sees it: parameters checked with the
 * official types (400 naming the parameter, in the path's error shape),
 * unknown parameters passed through to the provider untouched, the stream
 * usage chunk only on `stream_options.include_usage` with the cost always in
 * HTTP trailers, `GET /v1/models/{id}`, 404/405 for unknown routes, and every
 * /v1 route in the OpenAPI document.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits } from "./helpers/fixtures.js";

/** gpt-4o-mini: 1000 input tokens at $0.15/M + 500 output tokens at $0.60/M = 450 micro-USD. */
const FIXED_USAGE = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
const FIXED_COST = "0.000450";

describe(`gateway request validation and API surface (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-fake-upstream", usage: FIXED_USAGE });
    t = await startTestApp({ env: { OPENAI_API_KEY: "sk-fake-upstream", OPENAI_BASE_URL: `${fake.url}/v1` } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    slug = (await createOrg(owner)).slug;
    await grantCredits(t, slug, "100");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Prod", slug: "prod" })).status).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/prod/keys`, { name: "sdk", environment: "live" });
    expect(k.status).toBe(201);
    key = k.body.key;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const anthropic = () => new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
  const auth = () => ({ authorization: `Bearer ${key}` });
  const chat = (extra: Record<string, unknown>) =>
    owner.post(
      "/v1/chat/completions",
      { model: "mock/echo", messages: [{ role: "user", content: "hi" }], ...extra },
      auth(),
    );

  async function raw(path: string, body: unknown) {
    const res = await request(`${base}${path}`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, trailers: res.trailers };
  }

  const events = (text: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
      .map((l) => JSON.parse(l.slice(6)));

  describe("strict parameter types", () => {
    it('temperature: "hot" is 400 naming temperature (official SDK)', async () => {
      const err = await openai()
        .chat.completions.create({
          model: "mock/echo",
          messages: [{ role: "user", content: "hi" }],
          temperature: "hot" as unknown as number,
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(e.status).toBe(400);
      expect(e.param).toBe("temperature");
      expect(e.code).toBe("invalid_temperature");
      expect(e.message).toContain("`temperature` must be a number");
    });

    it.each([
      [{ temperature: 2.5 }, "temperature", "must be at most 2"],
      [{ top_p: -0.1 }, "top_p", "must be at least 0"],
      [{ n: 0 }, "n", "must be at least 1"],
      [{ n: 129 }, "n", "must be at most 128"],
      [{ stop: 5 }, "stop", "must be a string or an array of up to 4 strings"],
      [{ stop: ["a", "b", "c", "d", "e"] }, "stop", "must be a string or an array of up to 4 strings"],
      [{ tools: [{ type: "function" }] }, "tools[0].function", "is required"],
      [{ tools: [{ type: "function", function: { name: 3 } }] }, "tools[0].function.name", "must be a string"],
      [{ tool_choice: "sometimes" }, "tool_choice", 'must be "none", "auto", "required"'],
      [{ response_format: { type: "xml" } }, "response_format.type", 'must be one of "text", "json_object"'],
      [{ logit_bias: { "50256": "ban" } }, "logit_bias.50256", "must be a number"],
      [{ seed: 1.5 }, "seed", "must be an integer"],
      [{ max_tokens: "10" }, "max_tokens", "must be a number"],
      [{ max_completion_tokens: 0 }, "max_completion_tokens", "must be at least 1"],
      [{ metadata: { team: 7 } }, "metadata.team", "must be a string"],
      [{ stream: "yes" }, "stream", "must be a boolean"],
      [{ stream: true, stream_options: { include_usage: "yes" } }, "stream_options.include_usage", "must be a boolean"],
      [{ presence_penalty: 3 }, "presence_penalty", "must be at most 2"],
      [{ user: 42 }, "user", "must be a string"],
      [{ messages: [{ role: "robot", content: "hi" }] }, "messages[0].role", "must be one of"],
      [{ messages: [{ role: "user", content: 42 }] }, "messages[0].content", "must be a string or an array"],
      [{ messages: [] }, "messages", "must be a non-empty array"],
      [{ model: 7 }, "model", "must be a string"],
    ])("chat %j → 400 naming %s", async (extra, param, message) => {
      const res = await chat(extra);
      expect(res.status).toBe(400);
      const top = param.split(/[.[]/)[0];
      expect(res.body.error).toMatchObject({ param, code: `invalid_${top}`, type: "invalid_request_error" });
      expect(res.body.error.message).toContain(`\`${param}\` ${message}`);
    });

    it("a body that is not an object is 400 invalid_body", async () => {
      const res = await owner.post("/v1/chat/completions", "[1,2]", { ...auth(), "content-type": "application/json" });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_body");
    });

    it("embeddings check their parameters too", async () => {
      const bad = await owner.post("/v1/embeddings", { model: "mock/embed", input: "a", dimensions: "8" }, auth());
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ param: "dimensions", code: "invalid_dimensions" });
      const mixed = await owner.post("/v1/embeddings", { model: "mock/embed", input: [1, "a"] }, auth());
      expect(mixed.body.error).toMatchObject({ param: "input", code: "invalid_input" });
      const enc = await owner.post(
        "/v1/embeddings",
        { model: "mock/embed", input: "a", encoding_format: "hex" },
        auth(),
      );
      expect(enc.body.error).toMatchObject({ param: "encoding_format", code: "invalid_encoding_format" });
      const ok = await openai().embeddings.create({ model: "mock/embed", input: ["a", "b"] });
      expect(ok.data).toHaveLength(2);
    });

    it("/v1/messages without max_tokens is 400 in Anthropic's shape, naming max_tokens (official SDK)", async () => {
      const err = await anthropic()
        .messages.create({ model: "mock/echo", messages: [{ role: "user", content: "hi" }] } as never)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const e = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(e.status).toBe(400);
      expect(e.error).toMatchObject({
        type: "error",
        error: { type: "invalid_request_error", code: "invalid_max_tokens", message: "`max_tokens` is required." },
      });
    });

    it("/v1/messages checks Anthropic's own ranges (temperature 0–1, top_k, tool_choice)", async () => {
      const post = (extra: Record<string, unknown>) =>
        owner.post(
          "/v1/messages",
          { model: "mock/echo", max_tokens: 16, messages: [{ role: "user", content: "hi" }], ...extra },
          { "x-api-key": key },
        );
      for (const [extra, text] of [
        [{ temperature: 1.5 }, "`temperature` must be at most 1."],
        [{ top_k: -1 }, "`top_k` must be at least 0."],
        [{ tool_choice: { type: "tool" } }, "`tool_choice.name` is required."],
        [{ max_tokens: 0 }, "`max_tokens` must be at least 1."],
        [{ system: 5 }, "`system` must be a string or an array of text blocks."],
        [{ output_config: { effort: 3 } }, "`output_config.effort` must be a string."],
        [{ metadata: { user_id: 42 } }, "`metadata.user_id` must be a string."],
      ] as const) {
        const res = await post(extra);
        expect(res.status, JSON.stringify(extra)).toBe(400);
        expect(res.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: text } });
      }
      // The newest SDK types no longer list temperature; the Messages API and older clients still send it.
      const sampling = { temperature: 1, top_k: 5 } as object;
      const ok = await anthropic().messages.create({
        model: "mock/echo",
        max_tokens: 16,
        messages: [{ role: "user", content: "fine" }],
        output_config: { effort: "low" },
        ...sampling,
      });
      expect(ok.content[0]).toMatchObject({ type: "text", text: "fine" });
    });

    it("parameters Tollgate does not know reach the provider unchanged", async () => {
      const extra = {
        prompt_cache_key: "tenant-42",
        service_tier: "flex",
        x_vendor_flag: { nested: [1, "two", null], on: true },
      };
      const res = await openai().chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: "hello upstream" }],
        ...(extra as object),
      });
      expect(res.choices[0]!.message.content).toBeTypeOf("string");
      const sent = fake.last().body;
      expect(sent).toMatchObject(extra);
      expect(sent.x_vendor_flag).toEqual(extra.x_vendor_flag);
    });
  });

  describe("stream usage and cost trailers", () => {
    const streamBody = (extra: Record<string, unknown> = {}) => ({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "count to three" }],
      stream: true,
      ...extra,
    });

    it("without include_usage: no usage chunk, the exact cost in the trailers", async () => {
      const res = await raw("/v1/chat/completions", streamBody());
      expect(res.status).toBe(200);
      expect(String(res.headers.trailer)).toBe("x-tollgate-cost-usd, x-tollgate-balance-usd");
      const chunks = events(res.text);
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.filter((c) => c.choices.length === 0 || c.usage || c.tollgate)).toEqual([]);
      expect(res.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect(res.trailers["x-tollgate-cost-usd"]).toBe(FIXED_COST);
      expect(res.trailers["x-tollgate-balance-usd"]).toMatch(/^99\.\d{6}$/);
    });

    it("with include_usage: the usage chunk with the tollgate extension, and the same trailers", async () => {
      const res = await raw("/v1/chat/completions", streamBody({ stream_options: { include_usage: true } }));
      const last = events(res.text).at(-1);
      expect(last).toMatchObject({ choices: [], usage: FIXED_USAGE, tollgate: { cost_usd: FIXED_COST } });
      expect(res.trailers["x-tollgate-cost-usd"]).toBe(FIXED_COST);
      expect(res.trailers["x-tollgate-balance-usd"]).toBe(last.tollgate.balance_usd);
    });

    it("the official SDK reads a stream without include_usage to the end", async () => {
      const stream = await openai().chat.completions.create(streamBody() as never);
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const c of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) chunks.push(c);
      expect(chunks.every((c) => c.choices.length > 0 && !c.usage)).toBe(true);
    });

    it("a stream that fails after it started still ends with the cost trailer", async () => {
      fake.setFault({ type: "reset_after", chunks: 2, delayMs: 20 }, 1);
      const res = await raw("/v1/chat/completions", streamBody());
      expect(res.status).toBe(200);
      expect(events(res.text).at(-1).error.source).toBe("upstream");
      expect(res.trailers["x-tollgate-cost-usd"]).toMatch(/^0\.\d{6}$/);
    });

    it("/v1/messages streams carry the cost in trailers too (and on message_delta)", async () => {
      const res = await raw("/v1/messages", {
        model: "openai/gpt-4o-mini",
        max_tokens: 64,
        messages: [{ role: "user", content: "count to three" }],
        stream: true,
      });
      expect(res.status).toBe(200);
      expect(res.trailers["x-tollgate-cost-usd"]).toBe(FIXED_COST);
      const delta = events(res.text).find((e) => e.type === "message_delta");
      expect(delta.tollgate.cost_usd).toBe(FIXED_COST);
    });
  });

  describe("GET /v1/models/{id}", () => {
    it("answers one entry of the list (official SDK, id URL-encoded), mock models too", async () => {
      const list = await openai().models.list();
      for (const id of ["openai/gpt-4o-mini", "mock/echo"]) {
        const one = await openai().models.retrieve(id);
        expect(one).toEqual(list.data.find((m) => m.id === id));
      }
      const plain = await owner.get("/v1/models/openai/gpt-4o-mini", auth());
      expect(plain.status).toBe(200);
      expect(plain.body.id).toBe("openai/gpt-4o-mini");
    });

    it("404 model_not_found in OpenAI's shape for an unknown model or one the project may not use", async () => {
      const err = await openai()
        .models.retrieve("openai/not-a-model")
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      const missing = await owner.get("/v1/models/openai%2Fnot-a-model", auth());
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({
        code: "model_not_found",
        message: "The model 'openai/not-a-model' does not exist or you do not have access to it.",
      });
      expect((await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { allowedModels: ["mock/*"] })).status).toBe(200);
      try {
        const denied = await owner.get("/v1/models/openai%2Fgpt-4o-mini", auth());
        expect(denied.status).toBe(404);
        expect(denied.body.error.code).toBe("model_not_found");
        expect((await owner.get("/v1/models/mock%2Fecho", auth())).status).toBe(200);
      } finally {
        await owner.patch(`/api/v1/orgs/${slug}/projects/prod`, { allowedModels: [] });
      }
    });
  });

  describe("unknown routes", () => {
    it("GET /v1/chat/completions → 405 with Allow: POST; POST /v1/nope → 404 unknown_url, with or without a key", async () => {
      for (const headers of [{}, auth()]) {
        const get = await owner.get("/v1/chat/completions", headers);
        expect(get.status).toBe(405);
        expect(get.headers.allow).toBe("POST");
        expect(get.body.error).toMatchObject({ code: "method_not_allowed", type: "invalid_request_error" });
        const nope = await owner.post("/v1/nope", {}, headers);
        expect(nope.status).toBe(404);
        expect(nope.body.error).toMatchObject({ code: "unknown_url" });
      }
    });
  });

  describe("OpenAPI document", () => {
    it("lists every /v1 route with its summary, security, path parameter and body schema", async () => {
      const doc = (await t.anon.get("/api/openapi.json")).body;
      expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
      const chatOp = doc.paths["/v1/chat/completions"].post;
      expect(chatOp.summary).toBe("Create a chat completion (streaming, tools, JSON mode) with any provider");
      expect(chatOp.tags).toEqual(["OpenAI API"]);
      expect(chatOp.security).toEqual([{ apiKey: [] }]);
      const schema = chatOp.requestBody.content["application/json"].schema;
      expect(schema.required).toContain("messages");
      expect(schema.properties.temperature.anyOf[0]).toMatchObject({ type: "number", minimum: 0, maximum: 2 });
      expect(chatOp.responses["400"].content["application/json"].schema.properties.error.properties.param).toBeTruthy();
      const model = doc.paths["/v1/models/{id}"].get;
      expect(model.summary).toBe("Get one model this key's project may use, with its billed price");
      expect(model.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
      const messages = doc.paths["/v1/messages"].post;
      expect(messages.summary).toBe("Create a message (Anthropic Messages API) with any provider");
      expect(messages.requestBody.content["application/json"].schema.required).toEqual(
        expect.arrayContaining(["max_tokens", "messages"]),
      );
      expect(messages.responses["400"].content["application/json"].schema.properties.type).toEqual({ const: "error" });
      // Every route of the gateway's table is there, those added by other endpoints (the Responses API) too.
      expect(doc.paths["/v1/embeddings"].post.summary).toBe("Create embeddings");
      expect(doc.paths["/v1/models"].get.security).toEqual([{ apiKey: [] }]);
      expect(doc.paths["/v1/responses"].post.summary).toBeTypeOf("string");
      expect(Object.keys(doc.paths["/v1/responses/{id}"]).sort()).toEqual(["delete", "get"]);
      expect(doc.paths["/v1/*"]).toBeUndefined();
    });
  });
});
