/**
 * The request log explorer's filters on the logs API: status (outcome, exact
 * status or a class such as 4xx), model, key, tag, end user, time range, cost
 * and latency bounds — each narrows, they combine, a bad value is a 400 with a
 * stable code, and cursor paging keeps the filters. Rows are real gateway
 * calls plus rows written with exact costs, latencies and times.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestLogs } from "../src/modules/logs/logs.schema.js";
import { type Client, type Response, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { rows, team } from "./helpers/fixtures.js";

type Row = Record<string, any>;

describe(`request log explorer filters (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let slug: string;
  let keyA: { id: string; key: string };
  let keyB: { id: string; key: string };
  const now = Date.now();
  const ago = (minutes: number) => new Date(now - minutes * 60_000);

  beforeAll(async () => {
    t = await startTestApp();
    ({ owner, member, slug } = await team(t, "Explorer Co"));
    const created = await owner.post(`/api/v1/orgs/${slug}/projects`, {
      name: "Explore",
      slug: "explore",
      logBodies: true,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const newKey = async (name: string) => {
      const k = await owner.post(`/api/v1/orgs/${slug}/projects/explore/keys`, { name, environment: "live" });
      expect(k.status, JSON.stringify(k.body)).toBe(201);
      return { id: k.body.id as string, key: k.body.key as string };
    };
    keyA = await newKey("alpha");
    keyB = await newKey("bravo");
    const chat = async (key: string, model: string, tags: string | null, user?: string) => {
      const res = await owner.post(
        "/v1/chat/completions",
        { model, messages: [{ role: "user", content: "explore me" }], ...(user ? { user } : {}) },
        { authorization: `Bearer ${key}`, ...(tags ? { "x-tollgate-tags": tags } : {}) },
      );
      return res.status;
    };
    // Real calls: two answered, one refused (an unknown mock model).
    expect(await chat(keyA.key, "mock/echo", "checkout", "customer-1")).toBe(200);
    expect(await chat(keyB.key, "mock/lorem", "search", "customer-2")).toBe(200);
    expect(await chat(keyB.key, "mock/no-such-model", "checkout")).toBeGreaterThanOrEqual(400);
    await t.app.flushLogs();

    // Rows with exact costs, latencies and times (an hour or more ago, before the real calls).
    const [ids] = await rows<{ org_id: string; id: string }>(
      t,
      sql`select org_id, id from projects where slug = 'explore'`,
    );
    const base = {
      orgId: ids!.org_id,
      projectId: ids!.id,
      keyId: keyA.id,
      endpoint: "chat",
      provider: "mock",
      outcome: "ok" as const,
    };
    await t.db.insert(requestLogs).values([
      {
        ...base,
        id: "synthetic-cheap-fast",
        createdAt: ago(60),
        modelRequested: "mock/echo",
        modelServed: "mock/echo",
        status: 200,
        costMicroUsd: 10_000n,
        latencyMs: 1_500,
        tags: ["batch"],
      },
      {
        ...base,
        id: "synthetic-pricey-slow",
        createdAt: ago(120),
        modelRequested: "mock/lorem",
        modelServed: "mock/lorem",
        status: 200,
        costMicroUsd: 250_000n,
        latencyMs: 6_000,
        tags: ["batch"],
        userField: "customer-1",
      },
      {
        ...base,
        id: "synthetic-rate-limited",
        createdAt: ago(180),
        keyId: keyB.id,
        modelRequested: "mock/echo",
        status: 429,
        outcome: "error",
        errorCode: "rate_limit_exceeded",
        errorSource: "gateway",
        costMicroUsd: null,
        latencyMs: 3_000,
      },
      {
        ...base,
        id: "synthetic-upstream-500",
        createdAt: ago(240),
        modelRequested: "mock/lorem",
        modelServed: "mock/lorem",
        status: 502,
        outcome: "error",
        errorSource: "upstream",
        costMicroUsd: 0n,
        latencyMs: 9_000,
      },
    ]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const url = (query: string) => `/api/v1/orgs/${slug}/projects/explore/logs?${query}`;
  const logs = async (query: string, as: Client = owner): Promise<Row[]> => {
    const res = await as.get(url(query));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.logs as Row[];
  };
  const ids = (list: Row[]) => list.map((r) => r.requestId as string).sort();
  const refused = async (query: string, code: string, field?: string) => {
    const res = await owner.get(url(query));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe(code);
    if (field) expect(res.body.error.message).toContain(field);
    return res.body.error.message as string;
  };

  it("has all seven rows without filters", async () => {
    expect(await logs("")).toHaveLength(7);
  });

  it("status: an outcome, an exact status, or a class of them", async () => {
    const errors = await logs("outcome=error");
    expect(errors).toHaveLength(3);
    expect(errors.every((r) => r.outcome === "error")).toBe(true);
    const fourxx = await logs("status=4xx");
    expect(fourxx.length).toBeGreaterThanOrEqual(2);
    expect(fourxx.every((r) => r.status >= 400 && r.status < 500)).toBe(true);
    expect(ids(await logs("status=5xx"))).toEqual(["synthetic-upstream-500"]);
    expect((await logs("status=2xx")).every((r) => r.status >= 200 && r.status < 300)).toBe(true);
    expect(await logs("status=2xx")).toHaveLength(4);
    expect(ids(await logs("status=429"))).toEqual(["synthetic-rate-limited"]);
    expect(await logs("status=4xx&outcome=ok")).toHaveLength(0);
    await refused("status=4x", "VALIDATION_ERROR", "status");
    await refused("status=600", "VALIDATION_ERROR", "status");
    await refused("status=xx", "VALIDATION_ERROR", "status");
  });

  it("model, key, tag and end user narrow, alone and together", async () => {
    const lorem = await logs("model=mock/lorem");
    expect(lorem).toHaveLength(3);
    expect(lorem.every((r) => r.modelServed === "mock/lorem" || r.modelRequested === "mock/lorem")).toBe(true);
    const b = await logs(`keyId=${keyB.id}`);
    expect(b).toHaveLength(3);
    expect(b.every((r) => r.keyId === keyB.id)).toBe(true);
    expect(await logs("tag=checkout")).toHaveLength(2);
    expect(ids(await logs("tag=batch"))).toEqual(["synthetic-cheap-fast", "synthetic-pricey-slow"]);
    expect(await logs("user=customer-1")).toHaveLength(2);
    // Combined: every filter applies.
    const one = await logs(`keyId=${keyB.id}&tag=checkout&status=4xx`);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ keyId: keyB.id, tags: ["checkout"], outcome: "error" });
    expect(ids(await logs("user=customer-1&tag=batch&model=mock/lorem"))).toEqual(["synthetic-pricey-slow"]);
    expect(await logs("user=customer-1&tag=search")).toHaveLength(0);
    await refused("tag=", "VALIDATION_ERROR", "tag");
    await refused("nope=1", "VALIDATION_ERROR");
  });

  it("time range: from and to, inclusive; from after to is INVALID_RANGE", async () => {
    const from = ago(150).toISOString();
    const to = ago(30).toISOString();
    expect(ids(await logs(`from=${from}&to=${to}`))).toEqual(["synthetic-cheap-fast", "synthetic-pricey-slow"]);
    expect(await logs(`from=${ago(20).toISOString()}`)).toHaveLength(3);
    expect(ids(await logs(`to=${ago(200).toISOString()}`))).toEqual(["synthetic-upstream-500"]);
    expect(ids(await logs(`to=${ago(60).toISOString()}&status=2xx`))).toEqual([
      "synthetic-cheap-fast",
      "synthetic-pricey-slow",
    ]);
    await refused(`from=${to}&to=${from}`, "INVALID_RANGE", "from");
    await refused("from=yesterday", "VALIDATION_ERROR", "from");
  });

  it("cost: at least / at most, in USD, exactly; an unpriced request costs 0", async () => {
    expect(ids(await logs("minCostUsd=0.01"))).toEqual(["synthetic-cheap-fast", "synthetic-pricey-slow"]);
    expect(ids(await logs("minCostUsd=0.010001"))).toEqual(["synthetic-pricey-slow"]);
    expect(ids(await logs("minCostUsd=0.01&maxCostUsd=0.01"))).toEqual(["synthetic-cheap-fast"]);
    // At most 0.001: the free mock calls, the unpriced refusal and the 0-cost row.
    const cheap = await logs("maxCostUsd=0.001");
    expect(cheap).toHaveLength(5);
    expect(cheap.every((r) => r.costMicroUsd === null || BigInt(r.costMicroUsd) <= 1000n)).toBe(true);
    expect(ids(await logs("minCostUsd=0.2&model=mock/lorem&tag=batch"))).toEqual(["synthetic-pricey-slow"]);
    await refused("minCostUsd=abc", "VALIDATION_ERROR", "minCostUsd");
    await refused("maxCostUsd=-1", "VALIDATION_ERROR", "maxCostUsd");
    await refused("minCostUsd=1e-3", "VALIDATION_ERROR", "minCostUsd");
    await refused("minCostUsd=0.0000001", "VALIDATION_ERROR", "minCostUsd");
    await refused("minCostUsd=2&maxCostUsd=1", "INVALID_RANGE", "minCostUsd");
  });

  it("latency: at least / at most, in milliseconds", async () => {
    expect(ids(await logs("minLatencyMs=5000"))).toEqual(["synthetic-pricey-slow", "synthetic-upstream-500"]);
    expect(ids(await logs("minLatencyMs=1500&maxLatencyMs=3000"))).toEqual([
      "synthetic-cheap-fast",
      "synthetic-rate-limited",
    ]);
    expect(ids(await logs("minLatencyMs=1000&outcome=error"))).toEqual([
      "synthetic-rate-limited",
      "synthetic-upstream-500",
    ]);
    // The real calls are fast.
    expect(await logs("maxLatencyMs=1000")).toHaveLength(3);
    await refused("minLatencyMs=fast", "VALIDATION_ERROR", "minLatencyMs");
    await refused("maxLatencyMs=1.5", "VALIDATION_ERROR", "maxLatencyMs");
    await refused("minLatencyMs=-1", "VALIDATION_ERROR", "minLatencyMs");
    await refused("minLatencyMs=10&maxLatencyMs=5", "INVALID_RANGE", "minLatencyMs");
  });

  it("cursor paging keeps the filters, page after page", async () => {
    const query = `minLatencyMs=1000&status=${encodeURIComponent("2xx")}`;
    const all = ids(await logs(query));
    expect(all).toEqual(["synthetic-cheap-fast", "synthetic-pricey-slow"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res: Response = await owner.get(url(`${query}&limit=1${cursor ? `&cursor=${cursor}` : ""}`));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.logs.map((r: Row) => r.requestId));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen.sort()).toEqual(all);
    // Every row of the error pages, one at a time, newest first.
    const errorsByPage: Row[] = [];
    cursor = null;
    do {
      const res: Response = await owner.get(url(`outcome=error&limit=2${cursor ? `&cursor=${cursor}` : ""}`));
      errorsByPage.push(...res.body.logs);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(errorsByPage).toHaveLength(3);
    expect(errorsByPage.every((r) => r.outcome === "error")).toBe(true);
    const times = errorsByPage.map((r) => Date.parse(r.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    await refused("minLatencyMs=1000&cursor=not-a-cursor", "INVALID_CURSOR");
  });

  it("the export takes the same filters", async () => {
    const res = await t.app.server.inject({
      method: "GET",
      url: `/api/v1/orgs/${slug}/projects/explore/logs/export?format=jsonl&minCostUsd=0.01&status=2xx`,
      headers: { cookie: owner.cookie },
    });
    expect(res.statusCode).toBe(200);
    const lines = res.body.trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).requestId).sort()).toEqual(["synthetic-cheap-fast", "synthetic-pricey-slow"]);
    const bad = await owner.get(`/api/v1/orgs/${slug}/projects/explore/logs/export?minLatencyMs=9&maxLatencyMs=1`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_RANGE");
  });

  it("a member not assigned to the project gets 404, filters or not; assigned, the same rows", async () => {
    expect((await member.get(url("status=4xx"))).status).toBe(404);
    const put = await owner.put(`/api/v1/orgs/${slug}/projects/explore/members`, { userIds: [member.user!.id] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(ids(await logs("minCostUsd=0.01", member))).toEqual(["synthetic-cheap-fast", "synthetic-pricey-slow"]);
  });

  it("the OpenAPI document lists the new filters", async () => {
    const doc = (await t.anon.get("/api/openapi.json")).body;
    const params = doc.paths["/api/v1/orgs/{org}/projects/{project}/logs"].get.parameters as Array<{ name: string }>;
    const names = params.map((p) => p.name);
    for (const n of ["status", "minCostUsd", "maxCostUsd", "minLatencyMs", "maxLatencyMs", "keyId", "tag", "user"])
      expect(names).toContain(n);
  });
});
