/**
 * Amazon Bedrock end to end, against the Bedrock fake on loopback (it checks
 * every SigV4 signature as AWS does): an organization adds a Bedrock custom
 * provider over the API (region, access key id, secret access key, session
 * token; the key id shown, the secret and the token never, in no response,
 * log row or audit row) and tests the connection; the official OpenAI SDK then
 * gets chat, streams, tool calls and Titan embeddings through `slug/model`,
 * billed at the provider's prices for exactly the usage Bedrock reported; the
 * Responses API and /v1/messages reach Bedrock translated; a refused secret is
 * the upstream auth error; a 429 fails over before the first byte; an aborted
 * stream closes the upstream; and the built-in `bedrock` provider configured
 * from AWS_* answers, priced by the price library.
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libraryModel } from "../src/gateway/catalog.js";
import { usageFromBedrock } from "../src/gateway/providers/bedrock/usage.js";
import { costMicroUsd } from "../src/gateway/metering/cost.js";
import { BEDROCK_ERRORS } from "./fakes/bedrock-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { bedrockSetup, CLAUDE, KEY_ID, REGION, SECRET, TEMP_KEY_ID, TEMP_SECRET, TOKEN } from "./helpers/bedrock.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

const TITAN = "amazon.titan-embed-text-v2:0";
const PROFILE = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
const WRONG_SECRET = "wRoNgSeCrEt/0123456789abcdefGHIJKLMNOPQR";
/** Micro-USD per million tokens, as the provider body prices its models. */
const PRICES = { claude: { in: 3_000_000n, cached: 300_000n, out: 15_000_000n }, titan: 20_000n };

const usd = (micro: bigint) => `${micro / 1_000_000n}.${(micro % 1_000_000n).toString().padStart(6, "0")}`;
/** Micro-USD of a Converse usage at the provider's Claude prices (rounded up, as billing does). */
const claudeCost = (u: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number }) =>
  (BigInt(u.inputTokens) * PRICES.claude.in +
    BigInt(u.cacheReadInputTokens ?? 0) * PRICES.claude.cached +
    BigInt(u.outputTokens) * PRICES.claude.out +
    999_999n) /
  1_000_000n;

describe(`Amazon Bedrock (${storageKind})`, () => {
  const b = bedrockSetup();
  let t: TestApp;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  const providers = () => `/api/v1/orgs/${slug}/providers`;
  const openai = (k = key) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0 });
  const requestsFor = (text: string) => b.fake.requests.filter((r) => JSON.stringify(r.body ?? "").includes(text));
  const providerBody = (over: Record<string, unknown> = {}) => ({
    name: "Bedrock prod",
    slug: "br",
    format: "bedrock",
    region: REGION,
    accessKeyId: KEY_ID,
    secretAccessKey: SECRET,
    baseUrl: b.fake.url,
    models: [
      { id: CLAUDE, inputPricePerMillion: "3", cachedInputPricePerMillion: "0.3", outputPricePerMillion: "15" },
      { id: TITAN, inputPricePerMillion: "0.02" },
      { id: PROFILE },
    ],
    ...over,
  });
  async function projectKey(name: string, settings: Record<string, unknown> = {}) {
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name, slug: name, ...settings })).status).toBe(201);
    return (await owner.post(`/api/v1/orgs/${slug}/projects/${name}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  }
  async function loggedCost(requestId: string | null) {
    await t.app.flushLogs();
    const [row] = await rows<{ c: string; i: number; o: number }>(
      t,
      sql`select cost_micro_usd::text as c, input_tokens as i, output_tokens as o from request_logs where id = ${requestId}`,
    );
    return row!;
  }
  const post = (path: string, body: unknown, k = key, signal?: AbortSignal) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        // The built-in provider, with temporary credentials (the session token is signed and sent).
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: TEMP_KEY_ID,
        AWS_SECRET_ACCESS_KEY: TEMP_SECRET,
        AWS_SESSION_TOKEN: TOKEN,
        BEDROCK_BASE_URL: b.fake.url,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Bedrock Co"));
    await grantCredits(t, slug, "100");
    key = await projectKey("main-app");
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
  });

  it("an org adds a Bedrock provider: the key id is shown, the secret never; the connection test is signed and reaches the model", async () => {
    const created = await owner.post(providers(), providerBody());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      format: "bedrock",
      baseUrl: b.fake.url,
      region: REGION,
      accessKeyId: KEY_ID,
      apiKeyHint: KEY_ID,
    });
    const read = await owner.get(`${providers()}/br`);
    expect(read.body).toMatchObject({ region: REGION, accessKeyId: KEY_ID });
    for (const r of [created, read]) expect(JSON.stringify(r.body)).not.toContain(SECRET);

    // What Bedrock needs is checked at save time, with the base URL's SSRF rules as for every format.
    const refused = async (over: Record<string, unknown>) =>
      (await owner.post(providers(), providerBody(over))).body.error;
    const badRegion = await refused({ slug: "x1", region: "us-east-1.evil.example/" });
    expect(badRegion.code).toBe("VALIDATION_ERROR");
    expect(JSON.stringify(badRegion)).toContain("an AWS region like us-east-1");
    expect(await refused({ slug: "x2", region: undefined })).toMatchObject({ code: "BEDROCK_REGION_REQUIRED" });
    expect(await refused({ slug: "x3", secretAccessKey: undefined })).toMatchObject({
      code: "BEDROCK_CREDENTIALS_REQUIRED",
    });
    expect(await refused({ slug: "x4", apiKey: "sk-123" })).toMatchObject({ code: "BEDROCK_API_KEY_UNUSED" });
    expect(await refused({ slug: "x5", format: "openai" })).toMatchObject({ code: "BEDROCK_SETTINGS_FORMAT" });
    expect(await refused({ slug: "x6", baseUrl: "http://169.254.169.254" })).toMatchObject({
      code: "BASE_URL_FORBIDDEN_ADDRESS",
    });
    expect((await owner.post(providers(), providerBody({ slug: "bedrock" }))).status).toBe(400);
    // Without a base URL, the region's public endpoint; it follows the region while left to its default.
    const plain = await owner.post(providers(), providerBody({ slug: "br-eu", region: "eu-west-1", baseUrl: "" }));
    expect(plain.body.baseUrl).toBe("https://bedrock-runtime.eu-west-1.amazonaws.com");
    const moved = await owner.patch(`${providers()}/br-eu`, { region: "eu-central-1" });
    expect(moved.body).toMatchObject({
      baseUrl: "https://bedrock-runtime.eu-central-1.amazonaws.com",
      accessKeyId: KEY_ID,
    });

    const ok = await owner.post(`${providers()}/br/test`, {});
    expect(ok.body).toMatchObject({ ok: true, model: CLAUDE, error: null });
    const seen = b.fake.last();
    expect(seen.path).toBe("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    expect(seen.headers.authorization).toContain(`Credential=${KEY_ID}/`);
    expect(JSON.stringify(seen.headers)).not.toContain(SECRET);

    // A wrong secret is AWS's signature refusal; credentials are replaced whole, then it works.
    const wrong = providerBody({ slug: "br-wrong", secretAccessKey: WRONG_SECRET });
    expect((await owner.post(providers(), wrong)).status).toBe(201);
    const denied = await owner.post(`${providers()}/br-wrong/test`, {});
    expect(denied.body).toMatchObject({ ok: false, error: { kind: "http", status: 403 } });
    expect(JSON.stringify(denied.body)).not.toContain(WRONG_SECRET);
    expect((await owner.patch(`${providers()}/br-wrong`, { accessKeyId: TEMP_KEY_ID })).body.error).toMatchObject({
      code: "BEDROCK_CREDENTIALS_REQUIRED",
    });
    const rotated = await owner.patch(`${providers()}/br-wrong`, {
      accessKeyId: TEMP_KEY_ID,
      secretAccessKey: TEMP_SECRET,
      sessionToken: TOKEN,
    });
    expect(rotated.body).toMatchObject({ apiKeyHint: TEMP_KEY_ID, accessKeyId: TEMP_KEY_ID });
    expect(JSON.stringify(rotated.body)).not.toContain(TOKEN);
    expect((await owner.post(`${providers()}/br-wrong/test`, {})).body.ok).toBe(true);
    expect(b.fake.last().headers["x-amz-security-token"]).toBe(TOKEN);

    const audit = await rows<{ row: string }>(t, sql`select row_to_json(a)::text as row from audit_log a`);
    expect(audit.map((r) => r.row).join("\n")).toContain("provider.updated");
    for (const secret of [SECRET, WRONG_SECRET, TEMP_SECRET, TOKEN])
      expect(audit.map((r) => r.row).join("\n")).not.toContain(secret);
  });

  it("the OpenAI SDK gets chat and streams, billed for exactly the usage Bedrock reported; Responses and Messages are translated", async () => {
    const { data, response } = await openai()
      .chat.completions.create({
        model: `br/${CLAUDE}`,
        messages: [
          { role: "system", content: "use the cache" },
          { role: "user", content: "hello bedrock" },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("[use the cache] echo: hello bedrock");
    expect(data.model).toBe(`br/${CLAUDE}`);
    expect(response.headers.get("x-tollgate-provider")).toBe("br");
    const reported = b.fake.reported.at(-1)!;
    expect(reported.cacheReadInputTokens).toBe(8);
    expect(data.usage).toMatchObject({
      prompt_tokens: reported.inputTokens + 8,
      completion_tokens: reported.outputTokens,
    });
    const expected = claudeCost(reported);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(expected));
    expect((await loggedCost(response.headers.get("x-request-id"))).c).toBe(expected.toString());

    const stream = await openai().chat.completions.create({
      model: `br/${CLAUDE}`,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream from bedrock please" }],
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("echo: stream from bedrock please");
    expect(b.fake.last().path).toMatch(/\/converse-stream$/);
    const streamed = b.fake.reported.at(-1)!;
    expect(usage).toMatchObject({ prompt_tokens: streamed.inputTokens, completion_tokens: streamed.outputTokens });

    // The Responses API and Anthropic's Messages reach Bedrock translated to Converse.
    const r = await openai().responses.create({ model: `br/${CLAUDE}`, input: "hello responses" });
    expect(r.output_text).toBe("echo: hello responses");
    expect(b.fake.last().path).toMatch(/\/converse$/);
    const messages = await post("/v1/messages", {
      model: `br/${CLAUDE}`,
      max_tokens: 100,
      messages: [{ role: "user", content: "hello messages" }],
    });
    expect(messages.status).toBe(200);
    const m = (await messages.json()) as { content: Array<{ type: string; text: string }> };
    expect(m.content[0]).toMatchObject({ type: "text", text: "echo: hello messages" });
    expect(b.fake.last().body.inferenceConfig).toEqual({ maxTokens: 100 });
  });

  it("tool calls, whole and streamed, and Titan embeddings come back unchanged", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ];
    const whole = await openai().chat.completions.create({
      model: `br/${CLAUDE}`,
      tools,
      messages: [{ role: "user", content: "what is the weather?" }],
    });
    expect(whole.choices[0]!.finish_reason).toBe("tool_calls");
    const call = whole.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ id: "tooluse_1", function: { name: "get_weather" } });
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });

    const stream = await openai().chat.completions.create({
      model: `br/${CLAUDE}`,
      tools,
      stream: true,
      messages: [{ role: "user", content: "weather, streamed" }],
    });
    let args = "";
    let name = "";
    let finish: string | null | undefined;
    for await (const c of stream) {
      finish = c.choices[0]?.finish_reason ?? finish;
      for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
        name ||= tc.function?.name ?? "";
        args += tc.function?.arguments ?? "";
      }
    }
    expect(name).toBe("get_weather");
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
    expect(finish).toBe("tool_calls");

    const before = b.fake.requests.length;
    const { data: emb, response } = await openai()
      .embeddings.create({ model: `br/${TITAN}`, input: ["one", "three"], encoding_format: "float" })
      .withResponse();
    expect(emb.data.map((d) => d.embedding.length)).toEqual([1024, 1024]);
    const calls = b.fake.requests.slice(before);
    expect(calls.map((c) => c.path)).toEqual([
      "/model/amazon.titan-embed-text-v2%3A0/invoke",
      "/model/amazon.titan-embed-text-v2%3A0/invoke",
    ]);
    // Titan counts each input's tokens (one call each): one + three = 1 + 2.
    expect(emb.usage.prompt_tokens).toBe(3);
    const cost = (3n * PRICES.titan + 999_999n) / 1_000_000n;
    expect((await loggedCost(response.headers.get("x-request-id"))).c).toBe(cost.toString());
  });

  it("an aborted stream closes the upstream connection", async () => {
    b.fake.setFault({ type: "hang_after", chunks: 4 }, 1);
    const ac = new AbortController();
    const res = await post(
      "/v1/chat/completions",
      { model: `br/${CLAUDE}`, stream: true, messages: [{ role: "user", content: "one two three four five six" }] },
      key,
      ac.signal,
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("echo")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain("echo");
    const closed = b.fake.waitForClientAbort(5_000);
    ac.abort();
    expect(await closed).toBe(true);
  });

  it("errors map: a refused secret is the upstream auth error; a 429 fails over before the first byte", async () => {
    const wrong = providerBody({ slug: "br-bad", secretAccessKey: WRONG_SECRET });
    expect((await owner.post(providers(), wrong)).status).toBe(201);
    const refused = await post("/v1/chat/completions", {
      model: `br-bad/${CLAUDE}`,
      messages: [{ role: "user", content: "signed wrong" }],
    });
    expect(refused.status).toBe(502);
    const err = ((await refused.json()) as { error: Record<string, string> }).error;
    expect(err.code).toBe("upstream_auth_failed");
    expect(JSON.stringify(err)).not.toContain(WRONG_SECRET);

    // With a fallback, a 429 fails over before the first byte.
    const fbKey = await projectKey("with-fallback", { fallbackModels: ["mock/echo"] });
    b.fake.failNext({ ...BEDROCK_ERRORS.throttling, retryAfter: "30" }, 1);
    const { data, response } = await openai(fbKey)
      .chat.completions.create({ model: `br/${CLAUDE}`, messages: [{ role: "user", content: "quota two" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("quota two");
    expect(response.headers.get("x-tollgate-provider")).toBe("mock");
    expect(response.headers.get("x-tollgate-attempts")).toBe("2");
    expect(requestsFor("quota two")).toHaveLength(1);

    // Without a fallback, the client gets the 429 with Bedrock's Retry-After.
    b.fake.failNext({ ...BEDROCK_ERRORS.throttling, retryAfter: "30" }, 1);
    const limited = await post("/v1/chat/completions", {
      model: `br/${PROFILE}`,
      messages: [{ role: "user", content: "quota one" }],
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("upstream_rate_limited");
    expect(requestsFor("quota one")).toHaveLength(1);

    // No secret reached a log row.
    await t.app.flushLogs();
    const logged = await rows<{ row: string }>(t, sql`select row_to_json(l)::text as row from request_logs l`);
    expect(logged.length).toBeGreaterThan(5);
    for (const secret of [SECRET, WRONG_SECRET, TEMP_SECRET, TOKEN])
      expect(logged.map((r) => r.row).join("\n")).not.toContain(secret);
  });

  it("the built-in bedrock provider from AWS_* answers, signed with the session token, priced by the price library", async () => {
    const { data, response } = await openai()
      .chat.completions.create({ model: `bedrock/${PROFILE}`, messages: [{ role: "user", content: "instance-wide" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: instance-wide");
    expect(response.headers.get("x-tollgate-provider")).toBe("bedrock");
    const seen = b.fake.last();
    expect(seen.path).toBe("/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse");
    expect(seen.headers.authorization).toContain(`Credential=${TEMP_KEY_ID}/`);
    expect(seen.headers["x-amz-security-token"]).toBe(TOKEN);
    // A US inference profile is priced as the model it routes to.
    const price = libraryModel("bedrock", PROFILE)!.prices!;
    expect(price.inputMicroUsdPerM).toBeGreaterThan(0n);
    const expected = costMicroUsd(usageFromBedrock(b.fake.reported.at(-1))!, price);
    expect(expected).toBeGreaterThan(0n);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(expected));

    const models = (await openai().models.list()).data.map((m) => m.id);
    expect(models).toContain("bedrock/amazon.nova-pro-v1:0");
    expect(models).toContain("bedrock/amazon.titan-embed-text-v2:0");
    expect(models.filter((id) => id.startsWith("bedrock/regional."))).toEqual([]);
  });
});
