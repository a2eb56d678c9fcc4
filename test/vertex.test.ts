/**
 * Google Vertex AI end to end, against loopback fakes of Google's token
 * endpoint and of Vertex AI (test/helpers/vertex.ts): an organization adds a
 * Vertex custom provider over the API (project, location, a service account
 * key made in the test, a token URL of its own; the key's client_email shown,
 * the key never) and tests the connection; the official OpenAI SDK then gets
 * chat, streams and tool calls from a Gemini model and from a Claude model on
 * Vertex, and embeddings, billed at the provider's prices for exactly the
 * usage Vertex reported; Vertex's errors map (a 401, a 429 that is retried,
 * then the client's or failed over before the first byte). Tokens, secrets
 * and the built-in provider: vertex-auth.test.ts.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storageKind } from "./helpers/database.js";
import {
  bearerOf,
  CLAUDE,
  EMBED,
  GEMINI,
  LOCATION,
  ORG_SA,
  PROJECT,
  serviceAccount,
  startVertexSuite,
  usd,
  type VertexSuite,
} from "./helpers/vertex.js";

/** Micro-USD per million tokens, as the suite's provider body prices its models. */
const PRICES = {
  gemini: { in: 300_000n, out: 2_500_000n },
  claude: { in: 3_000_000n, out: 15_000_000n },
  embed: 25_000n,
};
const cost = (tokens: Array<[number, bigint]>) =>
  (tokens.reduce((sum, [n, price]) => sum + BigInt(n) * price, 0n) + 999_999n) / 1_000_000n;
const geminiCost = (u: Record<string, number>) =>
  cost([
    [u.promptTokenCount!, PRICES.gemini.in],
    [u.candidatesTokenCount!, PRICES.gemini.out],
  ]);
const claudeCost = (u: Record<string, number>) =>
  cost([
    [u.input_tokens!, PRICES.claude.in],
    [u.output_tokens!, PRICES.claude.out],
  ]);

describe(`Google Vertex AI (${storageKind})`, () => {
  let s: VertexSuite;
  beforeAll(async () => {
    s = await startVertexSuite();
  });
  afterAll(async () => {
    await s.close();
  });

  it("an org adds a Vertex provider: the key's client_email is shown, the key never; the connection test gets a token and reaches the model", async () => {
    const created = await s.owner.post(s.providers(), s.providerBody());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      format: "vertex",
      baseUrl: s.vertex.url,
      project: PROJECT,
      location: LOCATION,
      tokenUrl: s.tokens.tokenUrl,
      apiKeyHint: ORG_SA,
    });
    expect(created.body).not.toHaveProperty("serviceAccountJson");

    // What Vertex needs is checked at save time; both URLs pass the SSRF rules.
    const refused = async (over: Record<string, unknown>) =>
      (await s.owner.post(s.providers(), { ...s.providerBody(), ...over })).body.error;
    expect(await refused({ slug: "x1", project: undefined })).toMatchObject({ code: "VERTEX_PROJECT_REQUIRED" });
    expect(await refused({ slug: "x2", serviceAccountJson: undefined })).toMatchObject({ code: "VERTEX_KEY_REQUIRED" });
    const user = JSON.stringify({ type: "authorized_user", client_id: "x", refresh_token: "y" });
    const notSa = await refused({ slug: "x3", serviceAccountJson: user });
    expect(notSa).toMatchObject({ code: "VERTEX_KEY_INVALID" });
    expect(notSa.message).toContain('"authorized_user"');
    expect(await refused({ slug: "x4", apiKey: "sk-123" })).toMatchObject({ code: "VERTEX_API_KEY_UNUSED" });
    expect(await refused({ slug: "x5", format: "gemini" })).toMatchObject({ code: "VERTEX_SETTINGS_FORMAT" });
    const metadata = await refused({ slug: "x6", tokenUrl: "http://169.254.169.254/token" });
    expect(metadata).toMatchObject({ code: "BASE_URL_FORBIDDEN_ADDRESS" });
    expect(metadata.message).toContain("token URL");
    expect((await s.owner.post(s.providers(), { ...s.providerBody(), slug: "vertex" })).status).toBe(400);

    // Without a base URL, the location's endpoint; a location change moves it along.
    const regional = await s.owner.post(s.providers(), { ...s.providerBody(), slug: "vx-default", baseUrl: undefined });
    expect(regional.body.baseUrl).toBe("https://us-east5-aiplatform.googleapis.com");
    const moved = await s.owner.patch(`${s.providers()}/vx-default`, { location: "global" });
    expect(moved.body).toMatchObject({ location: "global", baseUrl: "https://aiplatform.googleapis.com" });
    // Leaving the format drops the settings and the key.
    const left = await s.owner.patch(`${s.providers()}/vx-default`, {
      format: "gemini",
      baseUrl: "https://generativelanguage.googleapis.com",
    });
    expect(left.body).toMatchObject({ format: "gemini", apiKeyHint: "(none)" });
    expect(left.body).not.toHaveProperty("project");
    expect((await s.owner.delete(`${s.providers()}/vx-default`)).status).toBe(204);

    // An empty apiKey sent along changes nothing: the service account key stays.
    expect((await s.owner.patch(`${s.providers()}/vx`, { apiKey: "" })).body.apiKeyHint).toBe(ORG_SA);
    const ok = await s.owner.post(`${s.providers()}/vx/test`, {});
    expect(ok.body).toMatchObject({ ok: true, model: GEMINI, error: null });
    const seen = s.vertex.last();
    expect(seen.path).toBe(
      `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${GEMINI}:generateContent`,
    );
    expect(bearerOf(seen)).toBe(s.issuedTo(ORG_SA)[0]!.token);
    expect(seen.headers["x-goog-api-key"]).toBeUndefined();
    expect((await s.owner.post(`${s.providers()}/vx/test`, { model: CLAUDE })).body.ok).toBe(true);
    expect(s.vertex.last().path).toBe(
      `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/anthropic/models/${encodeURIComponent(CLAUDE)}:rawPredict`,
    );

    // A key Google does not know: the token endpoint refuses it, and the test says so without the key.
    const stranger = await serviceAccount(ORG_SA);
    expect(
      (await s.owner.post(s.providers(), { ...s.providerBody(), slug: "vx-wrong", serviceAccountJson: stranger.json }))
        .status,
    ).toBe(201);
    const denied = await s.owner.post(`${s.providers()}/vx-wrong/test`, {});
    expect(denied.body).toMatchObject({ ok: false, error: { kind: "http", status: 401 } });
    expect(denied.body.error.message).toContain("invalid_grant");
    expect(JSON.stringify(denied.body)).not.toContain(stranger.secret);

    // A token endpoint that is down keeps its status, asked once per call (the gateway does the retrying).
    const asked = s.tokens.requests.length;
    s.tokens.setFault({ type: "status", status: 503, message: "backend unavailable" }, 1);
    const down = await s.owner.post(`${s.providers()}/vx-wrong/test`, {});
    expect(down.body).toMatchObject({ ok: false, error: { kind: "http", status: 503 } });
    expect(s.tokens.requests.length).toBe(asked + 1);
  });

  it("the OpenAI SDK gets chat and streams from Gemini and Claude on Vertex, billed for exactly the usage Vertex reported", async () => {
    const g = await s
      .openai()
      .chat.completions.create({ model: `vx/${GEMINI}`, messages: [{ role: "user", content: "hello gemini" }] })
      .withResponse();
    expect(g.data.choices[0]!.message.content).toBe("echo: hello gemini");
    expect(g.response.headers.get("x-tollgate-provider")).toBe("vx");
    const gUsage = s.vertex.reported.at(-1)!;
    expect(g.data.usage).toMatchObject({ prompt_tokens: gUsage.promptTokenCount });
    expect(g.response.headers.get("x-tollgate-cost-usd")).toBe(usd(geminiCost(gUsage)));
    expect((await s.loggedCost(g.response.headers.get("x-request-id"))).c).toBe(geminiCost(gUsage).toString());

    const c = await s
      .openai()
      .chat.completions.create({
        model: `vx/${CLAUDE}`,
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "hello claude" },
        ],
      })
      .withResponse();
    expect(c.data.choices[0]!.message.content).toBe("[be brief] echo: hello claude");
    const sent = s.vertex.last();
    expect(sent.body).toMatchObject({ anthropic_version: "vertex-2023-10-16", system: "be brief" });
    expect(sent.body).not.toHaveProperty("model");
    expect(sent.headers["anthropic-version"]).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(s.key);
    const cUsage = s.vertex.reported.at(-1)!;
    expect(c.data.usage).toMatchObject({ prompt_tokens: cUsage.input_tokens, completion_tokens: cUsage.output_tokens });
    expect((await s.loggedCost(c.response.headers.get("x-request-id"))).c).toBe(claudeCost(cUsage).toString());

    for (const [model, costOf] of [
      [GEMINI, geminiCost],
      [CLAUDE, claudeCost],
    ] as const) {
      const { data: stream, response } = await s
        .openai()
        .chat.completions.create({
          model: `vx/${model}`,
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: "user", content: `stream from ${model} please` }],
        })
        .withResponse();
      let text = "";
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe(`echo: stream from ${model} please`);
      expect(s.vertex.last().path).toMatch(/:(streamGenerateContent\?alt=sse|streamRawPredict)$/);
      const reported = s.vertex.reported.at(-1)!;
      expect(usage?.completion_tokens).toBe(reported.candidatesTokenCount ?? reported.output_tokens);
      expect((await s.loggedCost(response.headers.get("x-request-id"))).c).toBe(costOf(reported).toString());
    }
  });

  it("tool calls come back from both publishers, whole and streamed, and embeddings are billed by Vertex's token count", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ];
    for (const model of [GEMINI, CLAUDE]) {
      const whole = await s.openai().chat.completions.create({
        model: `vx/${model}`,
        tools,
        messages: [{ role: "user", content: "what is the weather?" }],
      });
      expect(whole.choices[0]!.finish_reason).toBe("tool_calls");
      const call = whole.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
      expect(call.function.name).toBe("get_weather");
      expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });

      const stream = await s.openai().chat.completions.create({
        model: `vx/${model}`,
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
    }

    const { data: emb, response } = await s
      .openai()
      .embeddings.create({ model: `vx/${EMBED}`, input: ["one", "three"], encoding_format: "float" })
      .withResponse();
    expect(emb.data.map((d) => d.embedding.length)).toEqual([8, 8]);
    expect(s.vertex.last().path).toBe(
      `/v1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/${EMBED}:predict`,
    );
    expect(s.vertex.last().body).toEqual({ instances: [{ content: "one" }, { content: "three" }] });
    const counted = s.vertex.reported.at(-1)!.token_count as number;
    expect(emb.usage.prompt_tokens).toBe(counted);
    const embedCost = cost([[counted, PRICES.embed]]);
    expect((await s.loggedCost(response.headers.get("x-request-id"))).c).toBe(embedCost.toString());

    const refused = await s
      .openai()
      .embeddings.create({ model: `vx/${CLAUDE}`, input: "x" })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("errors map: Vertex's 401 is the upstream auth error; a 429 is the client's rate limit, or fails over before the first byte", async () => {
    s.vertex.setFault({ type: "status", status: 401, message: "Request had invalid authentication credentials." }, 1);
    const denied = await s
      .openai()
      .chat.completions.create({ model: `vx/${GEMINI}`, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(denied).toMatchObject({ status: 502, code: "upstream_auth_failed" });

    // Vertex's 429 says nothing of when to come back: the gateway retries it twice, then the client has it.
    const quota = (text: string) => s.vertex.requests.filter((r) => JSON.stringify(r.body ?? "").includes(text));
    s.vertex.rateLimit(3);
    const limited = await fetch(`${s.base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: `vx/${CLAUDE}`, messages: [{ role: "user", content: "quota one" }] }),
    });
    expect(limited.status).toBe(429);
    const err = ((await limited.json()) as { error: Record<string, string> }).error;
    expect(err).toMatchObject({ code: "upstream_rate_limited", source: "upstream" });
    expect(err.message).toContain("Quota exceeded");
    expect(quota("quota one")).toHaveLength(3);

    const fbKey = await s.projectKey("with-fallback", { fallbackModels: ["mock/echo"] });
    s.vertex.rateLimit(3);
    const { data, response } = await s
      .openai(fbKey)
      .chat.completions.create({ model: `vx/${GEMINI}`, messages: [{ role: "user", content: "quota two" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("quota two");
    expect(response.headers.get("x-tollgate-provider")).toBe("mock");
    expect(response.headers.get("x-tollgate-attempts")).toBe("4");
    expect(quota("quota two")).toHaveLength(3);
  });
});
