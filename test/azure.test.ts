/**
 * Azure OpenAI end to end, against the Azure fake on loopback: an organization
 * adds an Azure custom provider over the API (endpoint, key, deployments; the
 * mapping shown, the key never) and tests the connection; the official OpenAI
 * SDK then gets chat, streams, tool calls and embeddings from its deployments
 * through `slug/model`, billed at the provider's prices for exactly the usage
 * Azure reported; Azure's errors map (a refused key, a content-filter refusal
 * that is the client's 400 and never fails over, a 429 that fails over before
 * the first byte); an aborted stream closes the upstream; and the built-in
 * `azure` provider configured from AZURE_OPENAI_* answers.
 */
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libraryModel } from "../src/gateway/catalog.js";
import { costMicroUsd } from "../src/gateway/metering/cost.js";
import { usageFromOpenAI } from "../src/gateway/types.js";
import { type AzureFake, startAzureFake } from "./fakes/azure-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, rows, team } from "./helpers/fixtures.js";

const ORG_KEY = "az-org-key-0123456789abcdef";
const INSTANCE_KEY = "az-instance-key-0123456789";
const PRICES = { gpt4o: { in: 2_500_000n, cached: 1_250_000n, out: 10_000_000n }, emb: 20_000n };

const usd = (micro: bigint) => `${micro / 1_000_000n}.${(micro % 1_000_000n).toString().padStart(6, "0")}`;
/** Micro-USD of a chat usage at the gpt-4o prices configured on the provider (rounded up, as billing does). */
const chatCost = (u: { prompt_tokens: number; completion_tokens: number; cached: number }) => {
  const n =
    BigInt(u.prompt_tokens - u.cached) * PRICES.gpt4o.in +
    BigInt(u.cached) * PRICES.gpt4o.cached +
    BigInt(u.completion_tokens) * PRICES.gpt4o.out;
  return (n + 999_999n) / 1_000_000n;
};

describe(`Azure OpenAI (${storageKind})`, () => {
  let t: TestApp;
  let azure: AzureFake;
  let instanceAzure: AzureFake;
  let base: string;
  let owner: Client;
  let slug: string;
  let key: string;

  const providers = () => `/api/v1/orgs/${slug}/providers`;
  const openai = (k = key) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0 });
  const requestsFor = (fake: AzureFake, text: string) =>
    fake.requests.filter((r) => JSON.stringify(r.body?.messages ?? r.body?.input ?? "").includes(text));
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

  beforeAll(async () => {
    [azure, instanceAzure] = await Promise.all([
      startAzureFake({
        apiKey: ORG_KEY,
        deployments: {
          "chat-prod": "gpt-4o-2024-08-06",
          "chat-mini": "gpt-4o-mini-2024-07-18",
          emb: "text-embedding-3-small",
        },
      }),
      startAzureFake({ apiKey: INSTANCE_KEY, deployments: { "mini-dep": "gpt-4o-mini-2024-07-18" } }),
    ]);
    t = await startTestApp({
      env: {
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
        AZURE_OPENAI_ENDPOINT: instanceAzure.url,
        AZURE_OPENAI_API_KEY: INSTANCE_KEY,
        AZURE_OPENAI_API_VERSION: "2025-04-01-preview",
        AZURE_OPENAI_DEPLOYMENTS: "gpt-4o-mini=mini-dep",
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Azure Co"));
    await grantCredits(t, slug, "100");
    key = await projectKey("main-app");
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await Promise.all([azure.close(), instanceAzure.close()]);
  });

  it("an org adds an Azure provider: the mapping is shown, the key never; the connection test reaches the deployment", async () => {
    const body = {
      name: "Azure prod",
      slug: "az",
      format: "azure",
      baseUrl: azure.url,
      apiKey: ORG_KEY,
      deployments: { "gpt-4o": "chat-prod", "gpt-4o-mini": "chat-mini", "text-embedding-3-small": "emb" },
      models: [
        { id: "gpt-4o", inputPricePerMillion: "2.5", cachedInputPricePerMillion: "1.25", outputPricePerMillion: "10" },
        { id: "gpt-4o-mini" },
        { id: "text-embedding-3-small", inputPricePerMillion: "0.02" },
      ],
    };
    const created = await owner.post(providers(), body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      format: "azure",
      baseUrl: azure.url,
      apiVersion: "2024-10-21",
      deployments: body.deployments,
      apiKeyHint: "az-…cdef",
    });
    const read = await owner.get(`${providers()}/az`);
    expect(read.body.deployments).toEqual(body.deployments);
    for (const r of [created, read]) expect(JSON.stringify(r.body)).not.toContain(ORG_KEY);

    // What Azure needs is checked at save time, with the base URL's SSRF rules as for every format.
    const refused = async (over: Record<string, unknown>) => (await owner.post(providers(), { ...body, ...over })).body;
    expect(await refused({ slug: "x1", deployments: { "gpt-5": "d" } })).toMatchObject({
      error: { code: "DEPLOYMENT_MODEL_UNKNOWN" },
    });
    expect(await refused({ slug: "x2", apiKey: "" })).toMatchObject({ error: { code: "AZURE_API_KEY_REQUIRED" } });
    expect(
      await refused({ slug: "x3", baseUrl: `${azure.url}/openai/deployments/chat-prod/chat/completions` }),
    ).toMatchObject({ error: { code: "AZURE_ENDPOINT_INVALID" } });
    expect(await refused({ slug: "x4", format: "openai" })).toMatchObject({ error: { code: "AZURE_SETTINGS_FORMAT" } });
    expect(await refused({ slug: "x5", baseUrl: "http://169.254.169.254" })).toMatchObject({
      error: { code: "BASE_URL_FORBIDDEN_ADDRESS" },
    });
    expect((await owner.post(providers(), { ...body, slug: "azure" })).status).toBe(400);

    const ok = await owner.post(`${providers()}/az/test`, {});
    expect(ok.body).toMatchObject({ ok: true, model: "gpt-4o", error: null });
    const seen = azure.last();
    expect(seen.path).toBe("/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21");
    expect(seen.headers["api-key"]).toBe(ORG_KEY);
    expect(seen.headers.authorization).toBeUndefined();

    // A newer API version, set later, is used from then on.
    const patched = await owner.patch(`${providers()}/az`, { apiVersion: "2025-04-01-preview" });
    expect(patched.body).toMatchObject({ apiVersion: "2025-04-01-preview", deployments: body.deployments });
    expect((await owner.post(`${providers()}/az/test`, { model: "gpt-4o-mini" })).body.ok).toBe(true);
    expect(azure.last().path).toBe("/openai/deployments/chat-mini/chat/completions?api-version=2025-04-01-preview");

    const wrongKey = "az-wrong-key-9876543210zyxw";
    expect((await owner.post(providers(), { ...body, slug: "az-wrong", apiKey: wrongKey })).status).toBe(201);
    const denied = await owner.post(`${providers()}/az-wrong/test`, {});
    expect(denied.body).toMatchObject({ ok: false, error: { kind: "http", status: 401 } });
    expect(denied.body.error.message).toContain("Access denied");
  });

  it("the OpenAI SDK gets chat and streams from the deployment, billed for exactly the usage Azure reported", async () => {
    const { data, response } = await openai()
      .chat.completions.create({
        model: "az/gpt-4o",
        messages: [
          { role: "system", content: "use the cache" },
          { role: "user", content: "hello azure" },
        ],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("[use the cache] echo: hello azure");
    expect(data.model).toBe("az/gpt-4o");
    expect(response.headers.get("x-tollgate-provider")).toBe("az");
    const seen = azure.last();
    expect(seen.path).toBe("/openai/deployments/chat-prod/chat/completions?api-version=2025-04-01-preview");
    expect(seen.headers["api-key"]).toBe(ORG_KEY);
    expect(JSON.stringify(seen.headers)).not.toContain(key);
    const reported = azure.reported.at(-1)!;
    expect(data.usage).toMatchObject({
      prompt_tokens: reported.prompt_tokens,
      completion_tokens: reported.completion_tokens,
    });
    const expected = chatCost({ ...reported, cached: reported.prompt_tokens_details.cached_tokens } as never);
    expect(reported.prompt_tokens_details.cached_tokens).toBe(8);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(expected));
    expect((await loggedCost(response.headers.get("x-request-id"))).c).toBe(expected.toString());

    // Streamed, with the usage chunk the client asked for: the usage is Azure's.
    const stream = await openai().chat.completions.create({
      model: "az/gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream from azure please" }],
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("echo: stream from azure please");
    expect(usage).toMatchObject({ prompt_tokens: azure.reported.at(-1)!.prompt_tokens });

    // Streamed without asking for usage: Tollgate still asks Azure for it, and bills it exactly.
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "az/gpt-4o",
        stream: true,
        messages: [{ role: "user", content: "no usage asked" }],
      }),
    });
    const sse = await res.text();
    expect(sse).not.toContain('"usage"');
    expect(azure.last().body.stream_options).toEqual({ include_usage: true });
    const u = azure.reported.at(-1)!;
    const row = await loggedCost(res.headers.get("x-request-id"));
    expect(row).toMatchObject({ i: u.prompt_tokens, o: u.completion_tokens });
    expect(row.c).toBe(chatCost({ ...u, cached: 0 } as never).toString());

    // The Responses API reaches Azure translated to chat.
    const r = await openai().responses.create({ model: "az/gpt-4o", input: "hello responses" });
    expect(r.output_text).toBe("echo: hello responses");
    expect(azure.last().path).toMatch(/^\/openai\/deployments\/chat-prod\/chat\/completions\?/);

    // An answer Azure's filter cut is an answer, passed on with its finish reason.
    const cut = await openai().chat.completions.create({
      model: "az/gpt-4o",
      messages: [{ role: "user", content: "FILTER-OUTPUT tell me more" }],
    });
    expect(cut.choices[0]!.finish_reason).toBe("content_filter");
  });

  it("tool calls, whole and streamed, and embeddings come back unchanged", async () => {
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
      model: "az/gpt-4o",
      tools,
      messages: [{ role: "user", content: "what is the weather?" }],
    });
    expect(whole.choices[0]!.finish_reason).toBe("tool_calls");
    const call = whole.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ id: "call_az1", function: { name: "get_weather" } });
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });

    const stream = await openai().chat.completions.create({
      model: "az/gpt-4o",
      tools,
      stream: true,
      messages: [{ role: "user", content: "weather, streamed" }],
    });
    let args = "";
    let name = "";
    for await (const c of stream)
      for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
        name ||= tc.function?.name ?? "";
        args += tc.function?.arguments ?? "";
      }
    expect(name).toBe("get_weather");
    expect(JSON.parse(args)).toEqual({ city: "Paris" });

    const { data: emb, response } = await openai()
      .embeddings.create({ model: "az/text-embedding-3-small", input: ["one", "three"], encoding_format: "float" })
      .withResponse();
    expect(emb.data.map((d) => d.embedding.length)).toEqual([8, 8]);
    expect(azure.last().path).toBe("/openai/deployments/emb/embeddings?api-version=2025-04-01-preview");
    const reported = azure.reported.at(-1)!;
    expect(emb.usage.prompt_tokens).toBe(reported.prompt_tokens);
    const cost = (BigInt(reported.prompt_tokens) * PRICES.emb + 999_999n) / 1_000_000n;
    expect((await loggedCost(response.headers.get("x-request-id"))).c).toBe(cost.toString());

    // Chat and embeddings only: another API is refused before any call to Azure.
    const before = azure.requests.length;
    const images = await openai()
      .images.generate({ model: "az/gpt-4o", prompt: "a cat" })
      .catch((e: unknown) => e);
    expect(images).toBeInstanceOf(OpenAI.BadRequestError);
    expect(azure.requests.length).toBe(before);
  });

  it("an aborted stream closes the upstream connection", async () => {
    azure.setFault({ type: "hang_after", chunks: 4 }, 1);
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "az/gpt-4o",
        stream: true,
        messages: [{ role: "user", content: "one two three four five six" }],
      }),
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("echo")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain("echo");
    const closed = azure.waitForClientAbort(5_000);
    ac.abort();
    expect(await closed).toBe(true);
  });

  it("errors map: a refused key, a content filter (the client's 400, no failover, no open circuit), a 429 that fails over", async () => {
    const denied = await openai()
      .chat.completions.create({ model: "az-wrong/gpt-4o", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(denied).toMatchObject({ status: 502, code: "upstream_auth_failed" });
    expect(JSON.stringify(denied)).not.toContain("az-wrong-key");

    const fbKey = await projectKey("with-fallback", { fallbackModels: ["mock/echo"] });
    // More refusals than the circuit breaker's threshold: each is the request's fault, none the provider's.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${fbKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "az/gpt-4o", messages: [{ role: "user", content: `FILTER-ME ${i}` }] }),
      });
      expect(res.status).toBe(400);
      const err = ((await res.json()) as { error: Record<string, string> }).error;
      expect(err).toMatchObject({ code: "upstream_rejected_request", source: "upstream" });
      expect(err.message).toContain("content management policy");
      expect(res.headers.get("x-tollgate-provider")).not.toBe("mock");
    }
    expect(requestsFor(azure, "FILTER-ME")).toHaveLength(6);
    const after = await openai(fbKey)
      .chat.completions.create({ model: "az/gpt-4o", messages: [{ role: "user", content: "still served" }] })
      .withResponse();
    expect(after.response.headers.get("x-tollgate-provider")).toBe("az");

    // A 429 without a fallback reaches the client with Azure's Retry-After.
    azure.rateLimit(30, 1);
    const limited = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "az/gpt-4o-mini", messages: [{ role: "user", content: "quota one" }] }),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("upstream_rate_limited");
    expect(requestsFor(azure, "quota one")).toHaveLength(1);

    // With a fallback, the same 429 fails over before the first byte.
    azure.rateLimit(30, 1);
    const { data, response } = await openai(fbKey)
      .chat.completions.create({ model: "az/gpt-4o", messages: [{ role: "user", content: "quota two" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("quota two");
    expect(response.headers.get("x-tollgate-provider")).toBe("mock");
    expect(response.headers.get("x-tollgate-attempts")).toBe("2");
    expect(requestsFor(azure, "quota two")).toHaveLength(1);
  });

  it("the built-in azure provider from the environment answers, priced as OpenAI's model of the same name", async () => {
    const { data, response } = await openai()
      .chat.completions.create({ model: "azure/gpt-4o-mini", messages: [{ role: "user", content: "instance-wide" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: instance-wide");
    expect(response.headers.get("x-tollgate-provider")).toBe("azure");
    const seen = instanceAzure.last();
    expect(seen.path).toBe("/openai/deployments/mini-dep/chat/completions?api-version=2025-04-01-preview");
    expect(seen.headers["api-key"]).toBe(INSTANCE_KEY);
    const price = libraryModel("openai", "gpt-4o-mini")!.prices!;
    const expected = costMicroUsd(usageFromOpenAI(instanceAzure.reported.at(-1) as never)!, price);
    expect(expected).toBeGreaterThan(0n);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(expected));
    // Only the configured deployments' models route.
    const other = await openai()
      .chat.completions.create({ model: "azure/gpt-4o", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(other).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
