/**
 * Moderations through the official OpenAI SDK (mock/moderation offline, the
 * OpenAI fake behind the built-in provider, free per the price library), and
 * what every media endpoint shares: the input policy blocks a prompt before
 * any upstream call, and a provider without the capability is refused with 400.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, team } from "./helpers/fixtures.js";

describe(`moderations and media policies on the gateway (${storageKind})`, () => {
  let t: TestApp;
  let fake: OpenAIFake;
  let owner: Client;
  let slug: string;
  let client: OpenAI;

  const balance = async () => BigInt((await owner.get(`/api/v1/orgs/${slug}/billing`)).body.balanceMicroUsd);

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-oa",
        OPENAI_BASE_URL: `${fake.url}/v1`,
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: `${fake.url}/anthropic`,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, slug } = await team(t, "Moderation Co"));
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Mod", slug: "mod", logBodies: true })).status,
    ).toBe(201);
    const key = (await owner.post(`/api/v1/orgs/${slug}/projects/mod/keys`, { name: "live", environment: "live" })).body
      .key;
    client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    await grantCredits(t, slug, "1");
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it("mock/moderation flags text with its trigger word, and only that", async () => {
    const r = await client.moderations.create({
      model: "mock/moderation",
      input: ["a calm walk in the park", "this is mock-flagged content"],
    });
    expect(r.results.map((x) => x.flagged)).toEqual([false, true]);
    expect(r.results[1]!.categories.violence).toBe(true);
    expect(r.results[0]!.categories.violence).toBe(false);
  });

  it("omni-moderation on OpenAI: forwarded with the upstream key, free", async () => {
    const before = await balance();
    const { data: r, response } = await client.moderations
      .create({ model: "omni-moderation-latest", input: "I will kill the process" })
      .withResponse();
    expect(r.results[0]!.flagged).toBe(true);
    expect(fake.last()).toMatchObject({
      path: "/v1/moderations",
      headers: { authorization: "Bearer sk-oa" },
      body: { model: "omni-moderation-latest", input: "I will kill the process" },
    });
    expect(response.headers.get("x-tollgate-provider")).toBe("openai");
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.000000");
    expect(await balance()).toBe(before);
    await t.app.flushLogs();
    const log = (await owner.get(`/api/v1/orgs/${slug}/projects/mod/logs/${response.headers.get("x-request-id")}`))
      .body;
    expect(log).toMatchObject({ endpoint: "moderations", modelServed: "openai/omni-moderation-latest", status: 200 });
  });

  it("`input` is checked against the SDK's type: 400 naming it; parts and unknown parameters reach OpenAI unchanged", async () => {
    const calls = fake.requests.length;
    for (const [input, message] of [
      [
        5,
        "`input` must be a string, a non-empty array of strings, or a non-empty array of `text` / `image_url` parts.",
      ],
      [undefined, "`input` is required."],
      [[], "must be a string, a non-empty array of strings"],
      [[{ type: "video", url: "x" }], "`text` / `image_url` parts"],
      [[{ type: "image_url", image_url: {} }], "`text` / `image_url` parts"],
      [["a", { type: "text", text: "b" }], "`text` / `image_url` parts"],
    ] as const) {
      const err = (await client.moderations
        .create({ model: "omni-moderation-latest", input } as never)
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
      expect(err, JSON.stringify(input)).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.error).toMatchObject({ code: "invalid_input", param: "input", type: "invalid_request_error" });
      expect((err.error as { message: string }).message).toContain(message);
    }
    const model = await client.moderations.create({ model: 7, input: "x" } as never).catch((e: unknown) => e);
    expect((model as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: "invalid_model" });
    expect(fake.requests.length).toBe(calls);
    const input = [
      { type: "text" as const, text: "a calm walk" },
      { type: "image_url" as const, image_url: { url: "https://example.com/cat.png" } },
    ];
    const r = await client.moderations.create({ model: "omni-moderation-latest", input, x_vendor_flag: true } as never);
    expect(r.results).toHaveLength(2);
    expect(fake.last().body).toEqual({ model: "omni-moderation-latest", input, x_vendor_flag: true });
  });

  it("a provider without the capability answers 400 with a clear code, before any upstream call", async () => {
    const calls = fake.requests.length;
    const img = await client.images.generate({ model: "anthropic/claude-sonnet-4-5", prompt: "x" }).catch((e) => e);
    expect(img.status).toBe(400);
    expect(img.error).toMatchObject({ code: "images_not_supported", param: "model" });
    const mod = await client.moderations.create({ model: "anthropic/claude-sonnet-4-5", input: "x" }).catch((e) => e);
    expect(mod.status).toBe(400);
    expect(mod.error.code).toBe("moderations_not_supported");
    const speech = await client.audio.speech
      .create({ model: "anthropic/claude-sonnet-4-5", voice: "alloy", input: "x" })
      .catch((e) => e);
    expect(speech.status).toBe(400);
    expect(speech.error.code).toBe("speech_not_supported");
    expect(fake.requests.length).toBe(calls);
  });

  it("a policy that blocks a word blocks it in an image prompt, a speech input and a moderation input (403)", async () => {
    const res = await owner.put(`/api/v1/orgs/${slug}/security-policy`, {
      pii: { email: "off", phone: "off", card: "off", ssn: "off", iban: "off", ip: "off", secret: "block" },
      promptInjection: { action: "off", threshold: 0.5 },
      rules: [
        { name: "falcon", type: "keyword", pattern: "Project Falcon", action: "block", category: "confidential" },
      ],
      restoreRedactions: false,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const calls = fake.requests.length;
    const img = await client.images.generate({ model: "gpt-image-1", prompt: "Project Falcon logo" }).catch((e) => e);
    expect(img.status).toBe(403);
    expect(img.error.code).toBe("policy_violation");
    const speech = await client.audio.speech
      .create({ model: "mock/speech", voice: "alloy", input: "About Project Falcon" })
      .catch((e) => e);
    expect(speech.status).toBe(403);
    const mod = await client.moderations.create({ model: "mock/moderation", input: "Project Falcon" }).catch((e) => e);
    expect(mod.status).toBe(403);
    expect(fake.requests.length).toBe(calls);
    const ok = await client.images.generate({ model: "mock/image", prompt: "a falcon" });
    expect(ok.data).toHaveLength(1);
  });

  it("the output policy reads the transcript: a blocked word heard in the audio is not returned", async () => {
    const heard = (text: string) =>
      client.audio.transcriptions.create({
        model: "mock/transcribe",
        file: new File([text], "memo.wav", { type: "audio/wav" }),
        response_format: "text",
      });
    expect(await heard("the quarterly plan")).toBe("the quarterly plan");
    const blocked = await heard("notes on Project Falcon").catch((e) => e);
    expect(blocked.status).toBe(403);
    expect(blocked.error.code).toBe("policy_violation");
  });
});
