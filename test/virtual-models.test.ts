/**
 * Virtual models end to end, against OpenAI fakes on loopback: an organization
 * names a model its apps send (owner and admin manage, members read), with
 * targets and a strategy — fallback fails over in order before the first byte,
 * weighted splits traffic by weight (90/10 within 5 % over 1,000 requests),
 * least-latency sends traffic to the target answering faster; a target's
 * parameter overrides reach the upstream; the name takes precedence over
 * bare-name resolution; the project's allowed models apply; /v1/models lists
 * it; a change applies to the next request.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIFake, startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, team } from "./helpers/fixtures.js";

const KEY = "sk-fake-vendor-0123456789";

describe(`virtual models (${storageKind})`, () => {
  let t: TestApp;
  let near: OpenAIFake;
  let far: OpenAIFake;
  let base: string;
  let owner: Client;
  let admin: Client;
  let member: Client;
  let slug: string;
  let key: string;

  const vms = () => `/api/v1/orgs/${slug}/virtual-models`;
  const openai = (k = key) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0 });
  const modelsSeen = (fake: OpenAIFake, from: number) => fake.requests.slice(from).map((r) => r.body?.model);
  async function projectKey(name: string, settings: Record<string, unknown> = {}) {
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name, slug: name, ...settings })).status).toBe(201);
    return (await owner.post(`/api/v1/orgs/${slug}/projects/${name}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  }
  const chat = (model: string, k = key) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any, headers: r.headers }));

  beforeAll(async () => {
    [near, far] = await Promise.all([startOpenAIFake({ apiKey: KEY }), startOpenAIFake({ apiKey: KEY })]);
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1" } });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    ({ owner, admin, member, slug } = await team(t, "Routing Co"));
    await grantCredits(t, slug, "100");
    for (const [p, fake] of [
      ["near", near],
      ["far", far],
    ] as const) {
      const res = await owner.post(`/api/v1/orgs/${slug}/providers`, {
        name: p,
        slug: p,
        format: "openai",
        baseUrl: `${fake.url}/v1`,
        apiKey: KEY,
        models: [{ id: "m-a" }, { id: "m-b" }],
      });
      expect(res.status).toBe(201);
    }
    key = await projectKey("main-app");
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
    await Promise.all([near.close(), far.close()]);
  });

  it("owners and admins manage virtual models, members read them; bad definitions are refused", async () => {
    const body = { name: "smart", strategy: "fallback", targets: [{ model: "near/m-a" }, { model: "far/m-a" }] };
    const created = await owner.post(vms(), body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      name: "smart",
      strategy: "fallback",
      targets: [
        { model: "near/m-a", weight: 1, params: null },
        { model: "far/m-a", weight: 1, params: null },
      ],
    });
    expect((await member.get(vms())).body.virtualModels.map((v: { name: string }) => v.name)).toEqual(["smart"]);
    expect((await member.get(`${vms()}/smart`)).status).toBe(200);
    expect((await member.post(vms(), { ...body, name: "mine" })).status).toBe(403);
    expect((await member.delete(`${vms()}/smart`)).status).toBe(403);
    expect((await admin.post(vms(), { ...body, name: "admin-made" })).status).toBe(201);
    expect((await admin.delete(`${vms()}/admin-made`)).status).toBe(204);

    const code = async (b: Record<string, unknown>) => (await owner.post(vms(), b)).body.error?.code;
    expect(await code(body)).toBe("VIRTUAL_MODEL_NAME_TAKEN");
    expect(await code({ ...body, name: "near" })).toBe("VIRTUAL_MODEL_NAME_TAKEN");
    expect(await code({ ...body, name: "a/b" })).toBe("VALIDATION_ERROR");
    expect(await code({ ...body, name: "x", targets: [{ model: "nowhere/m" }] })).toBe("VIRTUAL_MODEL_TARGET_INVALID");
    expect(await code({ ...body, name: "x", targets: [] })).toBe("VALIDATION_ERROR");
    expect(await code({ ...body, name: "x", strategy: "random" })).toBe("VALIDATION_ERROR");
    expect(await code({ ...body, name: "x", targets: [{ model: "near/m-a", params: { messages: [] } }] })).toBe(
      "VALIDATION_ERROR",
    );
    expect((await owner.get(`${vms()}/nope`)).body.error.code).toBe("VIRTUAL_MODEL_NOT_FOUND");
    const audit = await owner.get(`/api/v1/orgs/${slug}/audit-log?action=virtual_model.created`);
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain('"name":"smart"');
  });

  it("fallback: the first target failing before the first byte, the next answers; the client sees one answer", async () => {
    near.setFault({ type: "status", status: 503 });
    const before = far.requests.length;
    const { data, response } = await openai()
      .chat.completions.create({ model: "smart", messages: [{ role: "user", content: "route me" }] })
      .withResponse();
    near.setFault(undefined);
    expect(data.choices[0]!.message.content).toBe("echo: route me");
    expect(response.headers.get("x-tollgate-provider")).toBe("far");
    expect(response.headers.get("x-tollgate-model")).toBe("far/m-a");
    expect(modelsSeen(far, before)).toEqual(["m-a"]);

    // Streamed too.
    const stream = await openai().chat.completions.create({
      model: "smart",
      stream: true,
      messages: [{ role: "user", content: "stream me" }],
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("echo: stream me");
  });

  it("weighted: a 90/10 split within 5 % over 1,000 requests", async () => {
    const made = await owner.post(vms(), {
      name: "ab-test",
      strategy: "weighted",
      targets: [
        { model: "near/m-a", weight: 90 },
        { model: "near/m-b", weight: 10 },
      ],
    });
    expect(made.status).toBe(201);
    const before = near.requests.length;
    const statuses: number[] = [];
    for (let batch = 0; batch < 20; batch++)
      statuses.push(...(await Promise.all(Array.from({ length: 50 }, () => chat("ab-test")))).map((r) => r.status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1000);
    const seen = modelsSeen(near, before);
    const a = seen.filter((m) => m === "m-a").length;
    console.info(`virtual models: weighted 90/10 over 1,000 requests: ${a} to A, ${1000 - a} to B`);
    expect(seen).toHaveLength(1000);
    expect(a).toBeGreaterThanOrEqual(850);
    expect(a).toBeLessThanOrEqual(950);
  });

  it("least-latency: traffic goes to the target that answers faster", async () => {
    const made = await owner.post(vms(), {
      name: "quick",
      strategy: "least-latency",
      targets: [{ model: "far/m-b" }, { model: "near/m-b" }],
    });
    expect(made.status).toBe(201);
    far.setFault({ type: "slow", delayMs: 150 });
    const stream = async () => {
      const s = await openai().chat.completions.create({
        model: "quick",
        stream: true,
        messages: [{ role: "user", content: "fast?" }],
      });
      for await (const _ of s);
    };
    // Each target is measured once (an unmeasured target goes first), then the faster one takes the traffic.
    await stream();
    await stream();
    const farBefore = far.requests.length;
    const nearBefore = near.requests.length;
    for (let i = 0; i < 20; i++) await stream();
    far.setFault(undefined);
    expect(far.requests.length - farBefore).toBe(0);
    expect(near.requests.length - nearBefore).toBe(20);
  });

  it("a target's parameter overrides reach the upstream, one output limit replacing the request's", async () => {
    const made = await owner.post(vms(), {
      name: "careful",
      strategy: "fallback",
      targets: [{ model: "near/m-a", params: { temperature: 0.1, max_tokens: 64, stop: ["END"] } }],
    });
    expect(made.status).toBe(201);
    await openai().chat.completions.create({
      model: "careful",
      temperature: 1.5,
      max_completion_tokens: 4000,
      messages: [{ role: "user", content: "params" }],
    });
    const sent = near.last().body;
    expect(sent).toMatchObject({ model: "m-a", temperature: 0.1, max_tokens: 64, stop: ["END"] });
    expect(sent.max_completion_tokens).toBeUndefined();
  });

  it("a virtual name takes precedence over bare-name resolution, and a change applies to the next request", async () => {
    expect((await chat("gpt-4o")).body.error.code).toBe("model_not_found");
    expect(
      (await owner.post(vms(), { name: "gpt-4o", strategy: "fallback", targets: [{ model: "far/m-a" }] })).status,
    ).toBe(201);
    const before = far.requests.length;
    const res = await chat("gpt-4o");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-model")).toBe("far/m-a");
    expect(modelsSeen(far, before)).toEqual(["m-a"]);

    expect((await owner.patch(`${vms()}/gpt-4o`, { targets: [{ model: "near/m-b" }] })).status).toBe(200);
    expect((await chat("gpt-4o")).headers.get("x-tollgate-model")).toBe("near/m-b");
    expect((await owner.delete(`${vms()}/gpt-4o`)).status).toBe(204);
    expect((await chat("gpt-4o")).body.error.code).toBe("model_not_found");
  });

  it("the project's allowed models apply to the targets, and /v1/models lists the virtual models", async () => {
    // Allowing the virtual name allows its targets.
    const byName = await projectKey("by-name", { allowedModels: ["smart"] });
    expect((await chat("smart", byName)).status).toBe(200);
    expect((await chat("near/m-a", byName)).body.error.code).toBe("model_not_allowed");
    // Otherwise each target is checked: the ones not allowed are skipped.
    const onlyFar = await projectKey("only-far", { allowedModels: ["far/*"] });
    const before = near.requests.length;
    const res = await chat("smart", onlyFar);
    expect(res.headers.get("x-tollgate-model")).toBe("far/m-a");
    expect(near.requests.length).toBe(before);
    const none = await projectKey("none", { allowedModels: ["mock/*"] });
    expect((await chat("smart", none)).body.error.code).toBe("model_not_allowed");

    const list = await openai().models.list();
    const smart = list.data.find((m) => m.id === "smart") as unknown as Record<string, unknown>;
    expect(smart).toMatchObject({
      owned_by: "virtual",
      virtual: { strategy: "fallback", targets: ["near/m-a", "far/m-a"] },
    });
    expect(((await openai(none).models.list()).data as Array<{ id: string }>).map((m) => m.id)).not.toContain("smart");
    expect((await openai().models.retrieve("ab-test")).id).toBe("ab-test");
  });
});
