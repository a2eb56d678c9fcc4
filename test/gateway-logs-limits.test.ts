/**
 * What a team sees and what protects it: request logs filterable by provider,
 * key and free text, exported as JSONL, and private to the project's members;
 * request-rate limits in OpenAI's shape (429, Retry-After, x-ratelimit-*), with
 * test keys capped lower than live keys.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { joinOrg, team, grantCredits } from "./helpers/fixtures.js";

describe(`request logs and rate limits (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let owner: Client;
  let member: Client;
  let slug: string;
  let keyA: { id: string; key: string };
  let keyB: { id: string; key: string };

  async function newKey(project: string, environment: "live" | "test" = "live") {
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/${project}/keys`, {
      name: `k-${environment}`,
      environment,
    });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    return { id: k.body.id as string, key: k.body.key as string };
  }

  const chat = (key: string, model: string, content: string) =>
    owner.post(
      "/v1/chat/completions",
      { model, messages: [{ role: "user", content }] },
      { authorization: `Bearer ${key}` },
    );

  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-oa" });
    t = await startTestApp({ env: { OPENAI_API_KEY: "sk-oa", OPENAI_BASE_URL: `${fake.url}/v1` } });
    ({ owner, member, slug } = await team(t, "Logs Co"));
    await grantCredits(t, slug, "100"); // real-priced models on live keys are billed
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Logged", slug: "logged", logBodies: true })).status,
    ).toBe(201);
    keyA = await newKey("logged");
    keyB = await newKey("logged");
    expect((await chat(keyA.key, "mock/echo", "alpha needle-7f3 in the prompt")).status).toBe(200);
    expect((await chat(keyA.key, "openai/gpt-4o-mini", "bravo through openai")).status).toBe(200);
    expect((await chat(keyB.key, "mock/echo", "charlie from key b")).status).toBe(200);
    fake.setFault({ type: "status", status: 400, message: "bad request from fake" }, 1);
    expect((await chat(keyB.key, "openai/gpt-4o-mini", "delta fails")).status).toBe(400);
    await t.app.flushLogs();
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const logs = async (query: string, as: Client = owner) => {
    const res = await as.get(`/api/v1/orgs/${slug}/projects/logged/logs?${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.logs as Array<Record<string, any>>;
  };

  it("filters by provider and by key", async () => {
    const openaiRows = await logs("provider=openai");
    expect(openaiRows).toHaveLength(2);
    expect(openaiRows.every((r) => r.provider === "openai")).toBe(true);
    expect(await logs("provider=mock")).toHaveLength(2);
    expect(await logs("provider=nobody")).toHaveLength(0);

    const a = await logs(`keyId=${keyA.id}`);
    expect(a).toHaveLength(2);
    expect(a.every((r) => r.keyId === keyA.id)).toBe(true);
    const bErrors = await logs(`keyId=${keyB.id}&provider=openai`);
    expect(bErrors).toHaveLength(1);
    // A failed request names the target it failed on, with its attempts (error rates per model depend on it).
    expect(bErrors[0]).toMatchObject({
      status: 400,
      outcome: "error",
      errorSource: "upstream",
      modelServed: "openai/gpt-4o-mini",
    });
    expect(bErrors[0]!.attempts).toEqual([
      expect.objectContaining({ target: "openai/gpt-4o-mini", outcome: "error", status: 400 }),
    ]);
    const usage = await owner.get(`/api/v1/orgs/${slug}/projects/logged/usage`);
    const row = usage.body.usage.find((u: { model: string }) => u.model === "openai/gpt-4o-mini");
    expect(row).toMatchObject({ requests: 2, errors: 1, errorRate: 0.5 });
  });

  it("finds requests by text in bodies, model and error code (q)", async () => {
    const byBody = await logs("q=needle-7f3");
    expect(byBody).toHaveLength(1);
    expect(byBody[0]!.keyId).toBe(keyA.id);
    expect(await logs("q=NEEDLE-7F3")).toHaveLength(1);
    expect((await logs("q=gpt-4o-mini")).length).toBe(2);
    expect(await logs("q=upstream_rejected")).toHaveLength(1);
    // LIKE wildcards are literal.
    expect(await logs("q=%25")).toHaveLength(0);
    expect(await logs("q=no-such-text-anywhere")).toHaveLength(0);
  });

  /** The export as raw text (the client helper would try to parse NDJSON as one JSON document). */
  const exportRaw = (query: string) =>
    t.app.server.inject({
      method: "GET",
      url: `/api/v1/orgs/${slug}/projects/logged/logs/export?${query}`,
      headers: { cookie: owner.cookie },
    });

  it("exports JSONL with the same filters", async () => {
    const all = await exportRaw("format=jsonl");
    expect(all.statusCode).toBe(200);
    expect(String(all.headers["content-type"])).toContain("application/x-ndjson");
    expect(String(all.headers["content-disposition"])).toContain('filename="logged-logs.jsonl"');
    const lines = all.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual(
      expect.objectContaining({
        requestId: expect.any(String),
        keyId: expect.any(String),
        status: expect.any(Number),
        outcome: expect.any(String),
      }),
    );
    // Bodies stay in the detail view; the export carries no key material.
    expect(all.body).not.toContain(keyA.key);
    expect(all.body).not.toContain("sk-oa");

    const filtered = await exportRaw("format=jsonl&provider=openai&outcome=error");
    const rows = filtered.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ provider: "openai", outcome: "error" });
  });

  it("a member sees the logs of projects they are assigned to, and 404 elsewhere", async () => {
    for (const path of ["logs", "logs/export?format=csv", "usage"]) {
      const res = await member.get(`/api/v1/orgs/${slug}/projects/logged/${path}`);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe("PROJECT_NOT_FOUND");
    }
    const one = (await logs("limit=1"))[0]!;
    expect((await member.get(`/api/v1/orgs/${slug}/projects/logged/logs/${one.requestId}`)).status).toBe(404);

    expect(
      (await owner.put(`/api/v1/orgs/${slug}/projects/logged/members`, { userIds: [member.user!.id] })).status,
    ).toBe(200);
    expect(await logs("", member)).toHaveLength(4);
    // Another member of the same org, not assigned, still gets 404.
    const other = await joinOrg(t, owner, slug, "member");
    expect((await other.get(`/api/v1/orgs/${slug}/projects/logged/logs`)).status).toBe(404);
  });

  it("a project limit of 3 requests per minute refuses the 4th with 429, Retry-After and x-ratelimit-* headers", async () => {
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Limited", slug: "limited", rateLimit: { rpm: 3 } }))
        .status,
    ).toBe(201);
    const k = await newKey("limited");
    const before = fake.requests.length;
    for (let i = 0; i < 3; i++) {
      const ok = await chat(k.key, "mock/echo", `ok ${i}`);
      expect(ok.status).toBe(200);
      expect(ok.headers["x-ratelimit-limit-requests"]).toBe("3");
      expect(ok.headers["x-ratelimit-remaining-requests"]).toBe(String(2 - i));
    }
    const refused = await chat(k.key, "openai/gpt-4o-mini", "the fourth");
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      source: "gateway",
    });
    expect(refused.body.error).toHaveProperty("param");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // The time until the same request fits: a full minute must first decay in the next one (up to two minutes).
    expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(120);
    expect(refused.headers["x-ratelimit-limit-requests"]).toBe("3");
    expect(refused.headers["x-ratelimit-remaining-requests"]).toBe("0");
    expect(refused.headers["x-ratelimit-reset-requests"]).toMatch(/^\d+s$/);
    expect(fake.requests.length).toBe(before);
    // The Anthropic API gets its own error shape.
    const messages = await owner.post(
      "/v1/messages",
      { model: "mock/echo", max_tokens: 5, messages: [{ role: "user", content: "x" }] },
      { "x-api-key": k.key },
    );
    expect(messages.status).toBe(429);
    expect(messages.body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    // Another project is not affected.
    expect((await chat(keyA.key, "mock/echo", "other project")).status).toBe(200);
  });

  it("a token limit counts the tokens actually used (output included), not only the request size", async () => {
    expect(
      (await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Tokens", slug: "tokens", rateLimit: { tpm: 300 } }))
        .status,
    ).toBe(201);
    const k = await newKey("tokens");
    // ~130 tokens in by the byte estimate; the echo model answers as much again.
    const content = Array.from({ length: 80 }, (_, i) => `tok${i}`).join(" ");
    const first = await chat(k.key, "mock/echo", content);
    expect(first.status).toBe(200);
    expect(first.body.usage.total_tokens).toBeGreaterThan(200);
    expect(first.headers["x-ratelimit-limit-tokens"]).toBe("300");
    const second = await chat(k.key, "mock/echo", content);
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe("rate_limit_exceeded");
    expect(second.body.error.message).toContain("tokens per minute");
    expect(second.headers["x-ratelimit-remaining-tokens"]).toBeDefined();
  });

  it("test keys are capped lower than live keys", async () => {
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Unlimited", slug: "unlimited" })).status).toBe(
      201,
    );
    const live = await newKey("unlimited", "live");
    const test = await newKey("unlimited", "test");
    const burst = async (key: string, n: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) statuses.push((await chat(key, "mock/echo", "x")).status);
      return statuses;
    };
    const testStatuses = await burst(test.key, 70);
    const firstRefused = testStatuses.indexOf(429);
    expect(firstRefused).toBeGreaterThan(0);
    expect(testStatuses.slice(firstRefused).every((s) => s === 429)).toBe(true);
    const liveStatuses = await burst(live.key, firstRefused + 10);
    expect(liveStatuses.every((s) => s === 200)).toBe(true);
  });

  it("deleting a project or its organization deletes its logs; logs of a project deleted before the flush are dropped", async () => {
    const countLogs = async (column: "project_id" | "org_id", id: string) =>
      Number(
        (
          (await t.db.execute(
            sql`select count(*)::int as n from request_logs where ${sql.identifier(column)} = ${id}`,
          )) as unknown as { rows: Array<{ n: number }> }
        ).rows[0]!.n,
      );
    const make = async (org: string, name: string) => {
      const p = await owner.post(`/api/v1/orgs/${org}/projects`, { name, logBodies: true });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      const k = await owner.post(`/api/v1/orgs/${org}/projects/${p.body.slug}/keys`, {
        name: "k",
        environment: "live",
      });
      return { id: p.body.id as string, slug: p.body.slug as string, key: k.body.key as string };
    };
    const call = async (key: string) => expect((await chat(key, "mock/echo", "to be deleted")).status).toBe(200);

    // A project with logs, then deleted: its rows go with it.
    const gone = await make(slug, "Gone Soon");
    await call(gone.key);
    await t.app.flushLogs();
    expect(await countLogs("project_id", gone.id)).toBe(1);
    expect(
      (await owner.delete(`/api/v1/orgs/${slug}/projects/${gone.slug}`, { confirm: gone.slug })).status,
    ).toBeLessThan(300);
    expect(await countLogs("project_id", gone.id)).toBe(0);

    // Served, then the project is deleted before the batch is written: the batch drops that row, keeps the others.
    // (The writer's own timer may flush first; either way the end state is the same.)
    const late = await make(slug, "Deleted Before Flush");
    await t.app.flushLogs();
    const before = (await logs("")).length;
    await call(late.key);
    await call(keyA.key);
    expect(
      (await owner.delete(`/api/v1/orgs/${slug}/projects/${late.slug}`, { confirm: late.slug })).status,
    ).toBeLessThan(300);
    await t.app.flushLogs();
    expect(await countLogs("project_id", late.id)).toBe(0);
    expect((await logs("")).length).toBe(before + 1);

    // An organization deleted with its projects: every row of the org goes.
    const other = await owner.post("/api/v1/orgs", { name: "Short Lived" });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const p = await make(other.body.slug as string, "Its Project");
    await call(p.key);
    await t.app.flushLogs();
    expect(await countLogs("org_id", other.body.id as string)).toBe(1);
    const del = await owner.delete(`/api/v1/orgs/${other.body.slug}`, { confirm: other.body.slug });
    expect(del.status, JSON.stringify(del.body)).toBeLessThan(300);
    expect(await countLogs("org_id", other.body.id as string)).toBe(0);
  });

  it("requests refused before the pipeline with a valid key get a log row in their project; without a valid key only a metric", async () => {
    expect(
      (
        await owner.post(`/api/v1/orgs/${slug}/projects`, {
          name: "Refusals",
          slug: "refusals",
          logBodies: true,
          rateLimit: { rpm: 4, tpm: 400 },
        })
      ).status,
    ).toBe(201);
    const k = await newKey("refusals");
    const send = (
      url: string,
      payload: string,
      headers: Record<string, string> = { authorization: `Bearer ${k.key}` },
    ) =>
      t.app.server.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/json", ...headers },
        payload,
      });
    const projectLogs = async (project: string) => {
      await t.app.flushLogs();
      const res = await owner.get(`/api/v1/orgs/${slug}/projects/${project}/logs?limit=100`);
      expect(res.status).toBe(200);
      return res.body.logs as Array<Record<string, any>>;
    };
    const totalRows = async () =>
      Number(
        (
          (await t.db.execute(sql`select count(*)::int as n from request_logs`)) as unknown as {
            rows: Array<{ n: number }>;
          }
        ).rows[0]!.n,
      );

    // Not JSON: 400, logged with no body.
    const badJson = await send("/v1/chat/completions", '{"model": "mock/echo", "messages": [');
    expect(badJson.statusCode).toBe(400);
    // Body errors the pipeline sees (bad messages) were already logged; still are.
    const badMessages = await send("/v1/chat/completions", JSON.stringify({ model: "mock/echo", messages: [] }));
    expect(badMessages.statusCode).toBe(400);
    // A served request that uses up the token limit (400/min)...
    const fine = await send(
      "/v1/chat/completions",
      JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "w ".repeat(600) }] }),
    );
    expect(fine.statusCode).toBe(200);
    // ...so the next is refused by the token limit, on /v1/messages: logged with its model and body.
    const tpm = await send(
      "/v1/messages",
      JSON.stringify({ model: "mock/echo", max_tokens: 5, messages: [{ role: "user", content: "one more" }] }),
      { "x-api-key": k.key },
    );
    expect(tpm.statusCode).toBe(429);
    // The request-rate limit (4/min, all used): the 5th is refused before the body is read.
    const rpm = await send("/v1/embeddings", JSON.stringify({ model: "openai/text-embedding-3-small", input: "x" }));
    expect(rpm.statusCode).toBe(429);

    const rows = await projectLogs("refusals");
    const byId = (res: { headers: Record<string, unknown> }) =>
      rows.find((r) => r.requestId === res.headers["x-request-id"]);
    expect(byId(badJson)).toMatchObject({
      endpoint: "chat",
      status: 400,
      outcome: "error",
      errorCode: "invalid_json",
      errorSource: "gateway",
      keyId: k.id,
      modelRequested: null,
      costMicroUsd: null,
    });
    expect(byId(tpm)).toMatchObject({
      endpoint: "messages",
      status: 429,
      errorCode: "rate_limit_exceeded",
      modelRequested: "mock/echo",
    });
    expect(byId(badMessages)).toMatchObject({ endpoint: "chat", status: 400, errorCode: "invalid_messages" });
    expect(byId(rpm)).toMatchObject({
      endpoint: "embeddings",
      status: 429,
      errorCode: "rate_limit_exceeded",
      modelRequested: null,
    });
    expect(rows).toHaveLength(5);
    // Bodies: none for invalid JSON, the body as sent for a parsed one.
    const detail = async (res: { headers: Record<string, unknown> }) =>
      (await owner.get(`/api/v1/orgs/${slug}/projects/refusals/logs/${res.headers["x-request-id"]}`)).body;
    expect((await detail(badJson)).requestBody).toBeNull();
    expect((await detail(tpm)).requestBody).toMatchObject({ model: "mock/echo", max_tokens: 5 });

    // No valid key: no row anywhere, nothing revealed, counted in /metrics.
    const before = await totalRows();
    const missing = await send("/v1/chat/completions", "{}", {});
    const unknown = await send("/v1/messages", "{}", { "x-api-key": `tg_live_${"A".repeat(49)}` });
    const revoked = await newKey("refusals");
    expect((await owner.delete(`/api/v1/orgs/${slug}/projects/refusals/keys/${revoked.id}`)).status).toBeLessThan(300);
    const revokedRes = await send("/v1/chat/completions", "not json", { authorization: `Bearer ${revoked.key}` });
    expect([missing.statusCode, unknown.statusCode, revokedRes.statusCode]).toEqual([401, 401, 401]);
    expect(JSON.parse(revokedRes.body).error.code).toBe("key_revoked");
    await t.app.flushLogs();
    expect(await totalRows()).toBe(before);
    expect(await projectLogs("refusals")).toHaveLength(5);
    const metrics = (await t.anon.get("/metrics")).body as string;
    expect(metrics).toMatch(
      /tollgate_gateway_keyless_refusals_total\{endpoint="chat",status="401",code="missing_api_key"\} 1/,
    );
    expect(metrics).toMatch(
      /tollgate_gateway_keyless_refusals_total\{endpoint="messages",status="401",code="invalid_api_key"\} 1/,
    );
    expect(metrics).toMatch(
      /tollgate_gateway_keyless_refusals_total\{endpoint="chat",status="401",code="key_revoked"\} 1/,
    );
    // Refusals with a key are in the gateway request counter, like every logged request.
    expect(metrics).toMatch(
      /tollgate_gateway_requests_total\{endpoint="embeddings",status="429",outcome="error",provider="none",model="none"\} 1/,
    );
  });
});
