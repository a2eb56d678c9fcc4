/**
 * The gateway's hook points (src/gateway/hooks.ts), as security policies and
 * billing will use them: the order scanInput → reserve → upstream call →
 * output scanner → settle; a refusal from scanInput or reserve stops the
 * request before any upstream call (and nothing is settled); settle runs
 * exactly once per reserve — on success, on upstream failure and on client
 * abort; the output scanner changes what the client receives, streamed or not.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GatewayError } from "../src/gateway/errors.js";
import type { GatewayHooks, GatewayRequestContext, ReserveInput, SettleInput } from "../src/gateway/hooks.js";
import { type FakeServer, sseData, startFake } from "./fakes/base.js";
import { startGeminiFake } from "./fakes/gemini-fake.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { createOrg } from "./helpers/fixtures.js";

interface HookEvent {
  name: "scanInput" | "reserve" | "outputScanner" | "settle";
  requestId: string;
  /** Requests the upstream fake had received when the hook ran. */
  upstreamSeen: number;
  settle?: SettleInput;
  reserve?: ReserveInput;
  ctx: GatewayRequestContext;
}

const MODEL = "openai/gpt-4o-mini";

describe(`gateway hooks (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let base: string;
  let key: string;
  let gemini: FakeServer;
  let terse: FakeServer;
  let owner: Client;
  let org: string;
  const events: HookEvent[] = [];
  const mode = { blockInput: false, redactInput: false, refuseReserve: false, redact: false };

  const record = (
    name: HookEvent["name"],
    ctx: GatewayRequestContext,
    extra: { settle?: SettleInput; reserve?: ReserveInput } = {},
  ) => events.push({ name, requestId: ctx.requestId, upstreamSeen: fake.requests.length, ctx, ...extra });

  /** Redacts the word "secret"; holds back a trailing partial word so a word split across chunks is still caught. */
  function redactor() {
    const held = new Map<number, string>();
    const clean = (s: string) => s.replace(/secret/gi, "[REDACTED]");
    return {
      push(text: string, i: number) {
        const buf = (held.get(i) ?? "") + text;
        const cut = buf.lastIndexOf(" ") + 1;
        held.set(i, buf.slice(cut));
        return clean(buf.slice(0, cut));
      },
      end(i: number) {
        const rest = held.get(i) ?? "";
        held.delete(i);
        return clean(rest);
      },
    };
  }

  const hooks: GatewayHooks = {
    async scanInput(ctx, req) {
      record("scanInput", ctx);
      if (mode.blockInput)
        throw new GatewayError("policy_violation", "The request violates the organization's content policy.");
      if (mode.redactInput) {
        return {
          ...req,
          messages: req.messages.map((m) =>
            typeof m.content === "string" ? { ...m, content: m.content.replace(/secret/g, "[REDACTED]") } : m,
          ) as typeof req.messages,
        };
      }
      return req;
    },
    async reserve(ctx, input) {
      record("reserve", ctx, { reserve: input });
      if (mode.refuseReserve)
        throw new GatewayError("insufficient_credits", "The organization's balance cannot cover this request.");
      return { hold: ctx.requestId };
    },
    outputScanner(ctx) {
      record("outputScanner", ctx);
      return mode.redact ? redactor() : undefined;
    },
    async settle(ctx, reservation, input) {
      expect(reservation).toEqual({ hold: ctx.requestId });
      record("settle", ctx, { settle: input });
      return { costMicroUsd: 1234n, balanceMicroUsd: 5_000_000n };
    },
  };

  beforeAll(async () => {
    [fake, gemini] = await Promise.all([startOpenAIFake({ apiKey: "sk-oa" }), startGeminiFake()]);
    // An OpenAI-compatible server that ends streams at [DONE] with no finish_reason (t1), or puts the
    // last text and the finish_reason in one chunk (t2), as some compatible servers do.
    terse = await startFake(
      async (ctx) => {
        const chunk = (content: string, finish: string | null = null) =>
          sseData({
            id: "c1",
            object: "chat.completion.chunk",
            created: 1,
            model: ctx.body.model,
            choices: [{ index: 0, delta: { content }, finish_reason: finish }],
          });
        const last = ctx.body.model === "t2" ? chunk("and here", "stop") : chunk("and here");
        await ctx.sse([chunk("no finish "), chunk("secret "), last, sseData("[DONE]")]);
      },
      (status, message) => ({ error: { message, type: "server_error", code: String(status) } }),
    );
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-oa",
        OPENAI_BASE_URL: `${fake.url}/v1`,
        GEMINI_API_KEY: "gem",
        GEMINI_BASE_URL: gemini.url,
        TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
      },
      appOptions: { gatewayHooks: hooks },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    org = (await createOrg(owner)).slug;
    expect((await owner.post(`/api/v1/orgs/${org}/projects`, { name: "Hooks", slug: "hooks" })).status).toBe(201);
    key = (await owner.post(`/api/v1/orgs/${org}/projects/hooks/keys`, { name: "k", environment: "live" })).body.key;
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await Promise.all([fake.close(), gemini.close(), terse.close()]);
  });
  beforeEach(() => {
    Object.assign(mode, { blockInput: false, redactInput: false, refuseReserve: false, redact: false });
    fake.setFault(undefined);
  });

  const openai = () => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
  const of = (requestId: string | null) => events.filter((e) => e.requestId === requestId);
  const names = (requestId: string | null) => of(requestId).map((e) => e.name);

  async function waitFor(pred: () => boolean, ms = 3_000) {
    for (const until = Date.now() + ms; !pred() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    return pred();
  }

  it("runs scanInput → reserve → upstream → output scanner → settle, and reports the settlement", async () => {
    const before = fake.requests.length;
    const { data, response } = await openai()
      .chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "in order" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: in order");
    const id = response.headers.get("x-request-id");
    expect(names(id)).toEqual(["scanInput", "reserve", "outputScanner", "settle"]);
    const [scan, reserve, scanner, settle] = of(id);
    expect(scan!.upstreamSeen).toBe(before);
    expect(reserve!.upstreamSeen).toBe(before);
    expect(scanner!.upstreamSeen).toBe(before + 1);
    expect(settle!.settle).toMatchObject({
      outcome: "ok",
      route: { provider: "openai", model: "gpt-4o-mini" },
      usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
    });
    expect(scan!.ctx).toMatchObject({ endpoint: "chat", environment: "live" });
    expect(response.headers.get("x-tollgate-cost-usd")).toBe("0.001234");
    expect(response.headers.get("x-tollgate-balance-usd")).toBe("5.000000");
  });

  it("a scanInput refusal answers 403 before reserve and before any upstream call", async () => {
    mode.blockInput = true;
    const before = fake.requests.length;
    const err = await openai()
      .chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "forbidden" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.code).toBe("policy_violation");
    const id = e.headers?.get("x-request-id") ?? null;
    expect(names(id)).toEqual(["scanInput"]);
    expect(fake.requests.length).toBe(before);

    const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
    const aerr = await anthropic.messages
      .create({ model: MODEL, max_tokens: 10, messages: [{ role: "user", content: "forbidden" }] })
      .catch((x: unknown) => x);
    expect(aerr).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((aerr as { error: { error: { type: string } } }).error.error.type).toBe("permission_error");
    expect(fake.requests.length).toBe(before);
  });

  it("a reserve refusal (402) stops the request before the upstream, and nothing is settled", async () => {
    mode.refuseReserve = true;
    const before = fake.requests.length;
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: "user", content: "no money" }] }),
    });
    expect(res.status).toBe(402);
    expect(((await res.json()) as { error: { code: string; type: string } }).error).toMatchObject({
      code: "insufficient_credits",
      type: "insufficient_quota",
    });
    expect(names(res.headers.get("x-request-id"))).toEqual(["scanInput", "reserve"]);
    expect(fake.requests.length).toBe(before);
  });

  it("settles exactly once when the upstream fails, before or during the stream", async () => {
    fake.setFault({ type: "status", status: 400, message: "bad" }, 1);
    const err = await openai()
      .chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "fails" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const id = (err as { headers: Headers }).headers.get("x-request-id");
    expect(names(id)).toEqual(["scanInput", "reserve", "settle"]);
    expect(of(id).find((e) => e.name === "settle")!.settle!.outcome).toBe("upstream_error");

    fake.setFault({ type: "reset_after", chunks: 3, delayMs: 100 }, 1);
    const { data: stream, response } = await openai()
      .chat.completions.create({
        model: MODEL,
        stream: true,
        messages: [{ role: "user", content: "a stream that breaks after a few words" }],
      })
      .withResponse();
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow();
    const sid = response.headers.get("x-request-id");
    expect(await waitFor(() => names(sid).includes("settle"))).toBe(true);
    const settles = of(sid).filter((e) => e.name === "settle");
    expect(settles).toHaveLength(1);
    expect(settles[0]!.settle!.outcome).toBe("upstream_error");
    expect(settles[0]!.settle!.usage?.outputTokens).toBeGreaterThan(0);
  });

  it("settles exactly once, as client_aborted with estimated output, when the client goes away mid-stream", async () => {
    fake.setFault({ type: "slow", delayMs: 150 }, 1);
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: MODEL,
        stream: true,
        messages: [{ role: "user", content: Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ") }],
      }),
      signal: ac.signal,
    });
    const id = res.headers.get("x-request-id");
    const reader = res.body!.getReader();
    let seen = "";
    while (!/"content":"[^"]+"/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    ac.abort();
    expect(await waitFor(() => names(id).includes("settle"))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const settles = of(id).filter((e) => e.name === "settle");
    expect(settles).toHaveLength(1);
    expect(settles[0]!.settle).toMatchObject({ outcome: "client_aborted", usage: { estimated: true } });
    expect(settles[0]!.settle!.usage!.outputTokens).toBeGreaterThan(0);
  });

  it("the output scanner changes what the client receives, whole and streamed, on both APIs", async () => {
    mode.redact = true;
    const whole = await openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "the secret code is 42" }],
    });
    expect(whole.choices[0]!.message.content).toBe("echo: the [REDACTED] code is 42");

    const stream = await openai().chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: "user", content: "my secret and your secret stay here" }],
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe("echo: my [REDACTED] and your [REDACTED] stay here");

    const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
    const msg = await anthropic.messages.create({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: "user", content: "secret please" }],
    });
    expect(msg.content[0]).toMatchObject({ type: "text", text: "echo: [REDACTED] please" });
    const final = await anthropic.messages
      .stream({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "a secret in a stream" }] })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "echo: a [REDACTED] in a stream" });
  });

  it("held-back output comes out in order when the last chunk carries text and the finish reason (Gemini)", async () => {
    mode.redact = true;
    const stream = await openai().chat.completions.create({
      model: "gemini/gemini-2.0-flash",
      stream: true,
      messages: [{ role: "user", content: "my secret and your secret stay here" }],
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe("echo: my [REDACTED] and your [REDACTED] stay here");
    const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
    const final = await anthropic.messages
      .stream({
        model: "gemini/gemini-2.0-flash",
        max_tokens: 100,
        messages: [{ role: "user", content: "one secret two three" }],
      })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "echo: one [REDACTED] two three" });
  });

  it("held-back output is not lost, nor reordered, when a stream ends without a finish chunk of its own", async () => {
    mode.redact = true;
    const res = await owner.post(`/api/v1/orgs/${org}/providers`, {
      name: "Terse",
      slug: "terse",
      format: "openai",
      baseUrl: `${terse.url}/v1`,
      models: [
        { id: "t1", maxOutputTokens: 777, inputPricePerMillion: "1.25", outputPricePerMillion: "5" },
        { id: "t2" },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // Billing sees the custom provider's own prices and output cap.
    const { data: priced, response } = await openai()
      .chat.completions.create({ model: "terse/t1", messages: [{ role: "user", content: "x" }], stream: true })
      .withResponse();
    for await (const _ of priced) void _;
    const reserve = of(response.headers.get("x-request-id")).find((e) => e.name === "reserve")!.reserve!;
    expect(reserve.routes[0]).toMatchObject({
      provider: "terse",
      model: "t1",
      format: "openai",
      custom: true,
      maxOutputTokens: 777,
    });
    expect(reserve.routes[0]!.prices).toEqual({
      inputMicroUsdPerM: 1_250_000n,
      cachedInputMicroUsdPerM: 1_250_000n,
      outputMicroUsdPerM: 5_000_000n,
    });
    // The request set no output limit: billing takes the model's.
    expect(reserve.maxOutputTokens).toBeNull();
    expect(reserve.choices).toBe(1);
    for (const model of ["terse/t1", "terse/t2"]) {
      const stream = await openai().chat.completions.create({
        model,
        stream: true,
        messages: [{ role: "user", content: "x" }],
      });
      let text = "";
      for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
      expect(text, model).toBe("no finish [REDACTED] and here");
      const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
      const final = await anthropic.messages
        .stream({ model, max_tokens: 100, messages: [{ role: "user", content: "x" }] })
        .finalMessage();
      expect(final.content[0], model).toMatchObject({ type: "text", text: "no finish [REDACTED] and here" });
    }
  });

  it("embeddings pass the input policy, reserve and settle once too", async () => {
    const { response } = await openai()
      .embeddings.create({ model: "openai/text-embedding-3-small", input: "embed me" })
      .withResponse();
    const id = response.headers.get("x-request-id");
    expect(names(id)).toEqual(["scanInput", "reserve", "settle"]);
    expect(of(id)[2]!.settle!.outcome).toBe("ok");
    expect(of(id)[0]!.ctx.endpoint).toBe("embeddings");

    // What the policy rewrites is what the provider gets.
    mode.redactInput = true;
    await openai().embeddings.create({ model: "openai/text-embedding-3-small", input: ["my secret", "plain"] });
    expect(fake.last().body.input).toEqual(["my [REDACTED]", "plain"]);

    mode.blockInput = true;
    const before = fake.requests.length;
    const err = await openai()
      .embeddings.create({ model: "openai/text-embedding-3-small", input: "blocked" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(fake.requests.length).toBe(before);
  });
});
