/**
 * POST /v1/messages/count_tokens through a running Tollgate with the official
 * Anthropic SDK (`messages.countTokens`): exact counts from the Anthropic and
 * Gemini upstreams (their own counting endpoints, local fakes), the tokenizer's
 * count for OpenAI and mock, errors in Anthropic's shape, the request-rate
 * limit, and that counting never holds or charges credits.
 */
import Anthropic from "@anthropic-ai/sdk";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startGeminiFake } from "./fakes/gemini-fake.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg, grantCredits, rows } from "./helpers/fixtures.js";

const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const SYSTEM = "You are terse."; // 14 characters
const QUESTION = "How many tokens is this?"; // 24 characters
/** The request OpenAI's API reference answers with `"prompt_tokens": 19` (gpt-4o, o200k_base). */
const HELLO = {
  system: "You are a helpful assistant.",
  messages: [{ role: "user" as const, content: "Hello!" }],
};

describe(`POST /v1/messages/count_tokens (${storageKind})`, () => {
  let t: TestApp;
  let openaiFake: FakeServer;
  let anthropicFake: FakeServer;
  let geminiFake: FakeServer;
  let base: string;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  let mockOnlyKey: string;
  let limitedKey: string;
  let emptyOrgKey: string;

  const balance = async (org: string) =>
    BigInt(
      (
        await rows<{ b: string }>(
          t,
          sql`select coalesce((select balance_micro_usd::text from billing_accounts where org_id = ${org}), '0') as b`,
        )
      )[0]!.b,
    );
  const ledgerEntries = async (org: string) =>
    Number(
      (await rows<{ n: string }>(t, sql`select count(*)::text as n from ledger_entries where org_id = ${org}`))[0]!.n,
    );

  async function projectKey(orgSlug: string, project: Record<string, unknown>): Promise<string> {
    const p = await owner.post(`/api/v1/orgs/${orgSlug}/projects`, project);
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${orgSlug}/projects/${project.slug}/keys`, {
      name: "sdk",
      environment: "live",
    });
    expect(k.status).toBe(201);
    return k.body.key;
  }

  beforeAll(async () => {
    [openaiFake, anthropicFake, geminiFake] = await Promise.all([
      startOpenAIFake({ apiKey: "sk-openai-upstream" }),
      startAnthropicFake({ apiKey: "sk-ant-upstream" }),
      startGeminiFake({ apiKey: "gem-upstream-key" }),
    ]);
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-openai-upstream",
        OPENAI_BASE_URL: `${openaiFake.url}/v1`,
        ANTHROPIC_API_KEY: "sk-ant-upstream",
        ANTHROPIC_BASE_URL: anthropicFake.url,
        GEMINI_API_KEY: "gem-upstream-key",
        GEMINI_BASE_URL: geminiFake.url,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    const org = await createOrg(owner);
    slug = org.slug;
    orgId = org.id;
    await grantCredits(t, slug, "1");
    key = await projectKey(slug, { name: "Prod", slug: "prod" });
    mockOnlyKey = await projectKey(slug, { name: "Mock only", slug: "mock-only", allowedModels: ["mock/*"] });
    limitedKey = await projectKey(slug, { name: "Limited", slug: "limited", rateLimit: { rpm: 1 } });
    // An organization without credits: a priced messages call is refused there (402) — counting is not.
    const empty = await createOrg(owner);
    emptyOrgKey = await projectKey(empty.slug, { name: "Empty", slug: "empty" });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([openaiFake?.close(), anthropicFake?.close(), geminiFake?.close()]);
  });

  const anthropic = (apiKey = key) => new Anthropic({ apiKey, baseURL: base, maxRetries: 0 });

  it("Anthropic: the upstream's own count (exact), forwarded without max_tokens, with system and tools", async () => {
    const before = anthropicFake.requests.length;
    const { data, response } = await anthropic()
      .messages.countTokens({
        model: "anthropic/claude-3-5-haiku-latest",
        system: SYSTEM,
        messages: [{ role: "user", content: QUESTION }],
        tools: [WEATHER],
        tool_choice: { type: "auto" },
      })
      .withResponse();
    // The fake counts 1 per character (14 + 24), 3 per message, 50 per tool.
    expect(data).toEqual({ input_tokens: 91 });
    expect(response.headers.get("x-tollgate-token-count")).toBe("exact");
    expect(response.headers.get("x-tollgate-provider")).toBe("anthropic");
    expect(response.headers.get("x-tollgate-model")).toBe("anthropic/claude-3-5-haiku-latest");
    expect(anthropicFake.requests.length).toBe(before + 1);
    const sent = anthropicFake.last();
    expect(sent.path).toBe("/v1/messages/count_tokens");
    expect(sent.body).toEqual({
      model: "claude-3-5-haiku-latest",
      system: SYSTEM,
      messages: [{ role: "user", content: QUESTION }],
      tools: [WEATHER],
      tool_choice: { type: "auto" },
    });
    expect(sent.headers["x-api-key"]).toBe("sk-ant-upstream");
    expect(sent.headers["anthropic-version"]).toBeTruthy();
    // The client's Tollgate key never reaches the upstream.
    expect(JSON.stringify(sent.headers)).not.toContain(key);
  });

  it("Gemini: countTokens with the translated request (exact)", async () => {
    const { data, response } = await anthropic()
      .messages.countTokens({
        model: "gemini/gemini-2.0-flash",
        system: SYSTEM,
        messages: [{ role: "user", content: QUESTION }],
        tools: [WEATHER],
      })
      .withResponse();
    // The fake counts 1 per character (14 + 24), 2 per content, 40 per function.
    expect(data).toEqual({ input_tokens: 80 });
    expect(response.headers.get("x-tollgate-token-count")).toBe("exact");
    expect(response.headers.get("x-tollgate-provider")).toBe("gemini");
    const sent = geminiFake.last();
    expect(sent.path).toBe("/v1beta/models/gemini-2.0-flash:countTokens");
    expect(sent.headers["x-goog-api-key"]).toBe("gem-upstream-key");
    expect(sent.body.generateContentRequest.systemInstruction).toEqual({ parts: [{ text: SYSTEM }] });
    expect(sent.body.generateContentRequest.contents).toEqual([{ role: "user", parts: [{ text: QUESTION }] }]);
    expect(sent.body.generateContentRequest.tools[0].functionDeclarations[0].name).toBe("get_weather");
    expect(JSON.stringify(sent.headers)).not.toContain(key);
  });

  it("OpenAI: the o200k_base tokenizer with the chat format's overhead (estimated, no upstream call)", async () => {
    const before = openaiFake.requests.length;
    const { data, response } = await anthropic()
      .messages.countTokens({ model: "openai/gpt-4o", ...HELLO })
      .withResponse();
    expect(data).toEqual({ input_tokens: 19 });
    expect(response.headers.get("x-tollgate-token-count")).toBe("estimated");
    expect(response.headers.get("x-tollgate-tokenizer")).toBe("o200k_base");
    expect(openaiFake.requests.length).toBe(before);
  });

  it("OpenAI: tools and tool calls count too", async () => {
    const plain = await anthropic().messages.countTokens({
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: QUESTION }],
    });
    const withTools = await anthropic().messages.countTokens({
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: QUESTION }],
      tools: [WEATHER],
    });
    expect(withTools.input_tokens).toBeGreaterThan(plain.input_tokens + 10);
  });

  it("mock/echo: o200k_base, said to be a default", async () => {
    const { data, response } = await anthropic()
      .messages.countTokens({ model: "mock/echo", ...HELLO })
      .withResponse();
    expect(data).toEqual({ input_tokens: 19 });
    expect(response.headers.get("x-tollgate-token-count")).toBe("estimated");
    expect(response.headers.get("x-tollgate-tokenizer")).toBe("o200k_base (default: model not known)");
  });

  it("a model the project may not use: 403 permission_error, nothing sent upstream", async () => {
    const before = anthropicFake.requests.length;
    const err = await anthropic(mockOnlyKey)
      .messages.countTokens({ model: "anthropic/claude-3-5-haiku-latest", ...HELLO })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const e = err as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect((e.error as any).type).toBe("error");
    expect((e.error as any).error).toMatchObject({ type: "permission_error", code: "model_not_allowed" });
    expect(anthropicFake.requests.length).toBe(before);
  });

  it("an unknown model: 404 not_found_error", async () => {
    const err = await anthropic()
      .messages.countTokens({ model: "nosuch/model", ...HELLO })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(((err as any).error as any).error).toMatchObject({ type: "not_found_error", code: "model_not_found" });
  });

  it("a bad body: 400 invalid_request_error naming the field", async () => {
    const err = await anthropic()
      .messages.countTokens({ model: "mock/echo", messages: [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (err as any).error;
    expect(body.type).toBe("error");
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_messages" });
    expect(body.error.message).toContain("messages");

    const role = await anthropic()
      .messages.countTokens({ model: "mock/echo", messages: [{ role: "system" as "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect((role as any).error.error).toMatchObject({ code: "invalid_messages" });
    expect((role as any).error.error.message).toContain("messages[0].role");
  });

  it("no key: 401 authentication_error in Anthropic's shape", async () => {
    const res = await fetch(`${base}/v1/messages/count_tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "mock/echo", ...HELLO }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as any;
    expect(body.type).toBe("error");
    expect(body.error).toMatchObject({ type: "authentication_error", code: "missing_api_key" });
  });

  it("an upstream failure: answered in Anthropic's shape, source upstream", async () => {
    anthropicFake.setFault({ type: "status", status: 500, message: "counting broke" }, 1);
    const err = await anthropic()
      .messages.countTokens({ model: "anthropic/claude-3-5-haiku-latest", ...HELLO })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as any).status).toBe(502);
    expect((err as any).error.error).toMatchObject({ type: "api_error", code: "upstream_error", source: "upstream" });
    expect((err as any).error.error.message).toContain("counting broke");
  });

  it("the project's request-rate limit applies", async () => {
    const first = await fetch(`${base}/v1/messages/count_tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": limitedKey },
      body: JSON.stringify({ model: "mock/echo", ...HELLO }),
    });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const err = await anthropic(limitedKey)
      .messages.countTokens({ model: "mock/echo", ...HELLO })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as any).error.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
  });

  it("counting is free: no credit hold (works with no credits), the balance and ledger unchanged", async () => {
    const balanceBefore = await balance(orgId);
    expect(balanceBefore).toBe(1_000_000n);
    const entriesBefore = await ledgerEntries(orgId);
    for (const model of ["anthropic/claude-3-5-haiku-latest", "gemini/gemini-2.0-flash", "openai/gpt-4o"])
      await anthropic().messages.countTokens({ model, ...HELLO });
    expect(await balance(orgId)).toBe(1_000_000n);
    expect(await ledgerEntries(orgId)).toBe(entriesBefore);

    // With no credits at all, a priced message is refused (402) but its count is not (no hold was taken).
    const refused = await anthropic(emptyOrgKey)
      .messages.create({ model: "anthropic/claude-3-5-haiku-latest", max_tokens: 10, ...HELLO })
      .catch((e: unknown) => e);
    expect((refused as any).status).toBe(402);
    const counted = await anthropic(emptyOrgKey).messages.countTokens({
      model: "anthropic/claude-3-5-haiku-latest",
      ...HELLO,
    });
    expect(counted.input_tokens).toBe("You are a helpful assistant.".length + "Hello!".length + 3);
  });

  it("is in the API reference, its body schema without max_tokens", async () => {
    const doc = (await t.anon.get("/api/openapi.json")).body;
    const op = doc.paths["/v1/messages/count_tokens"]?.post;
    expect(op?.tags).toEqual(["Anthropic API"]);
    const schema = op.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(["messages"]);
    expect(schema.properties.max_tokens).toBeUndefined();
    expect(schema.properties.tools).toBeDefined();
  });

  it("what goes to a provider passes the organization's security policy: a block refuses, a redaction is sent", async () => {
    const org = await createOrg(owner);
    const policyKey = await projectKey(org.slug, { name: "Guarded", slug: "guarded" });
    const res = await owner.put(`/api/v1/orgs/${org.slug}/security-policy`, {
      pii: { email: "redact", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "block" },
      promptInjection: { action: "off", threshold: 0.5 },
      rules: [
        { name: "falcon", type: "keyword", pattern: "Project Falcon", action: "block", category: "confidential" },
      ],
      restoreRedactions: false,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const before = anthropicFake.requests.length;
    const blocked = await anthropic(policyKey)
      .messages.countTokens({
        model: "anthropic/claude-3-5-haiku-latest",
        messages: [{ role: "user", content: "Tell me about Project Falcon" }],
      })
      .catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((blocked as any).error.error).toMatchObject({ type: "permission_error", code: "policy_violation" });
    expect(anthropicFake.requests.length).toBe(before);

    await anthropic(policyKey).messages.countTokens({
      model: "anthropic/claude-3-5-haiku-latest",
      messages: [{ role: "user", content: "Write to jane.doe@example.com please" }],
    });
    expect(anthropicFake.requests.length).toBe(before + 1);
    expect(JSON.stringify(anthropicFake.last().body)).not.toContain("jane.doe@example.com");
    expect(anthropicFake.last().body.max_tokens).toBeUndefined();
  });
});
