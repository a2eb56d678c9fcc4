/**
 * Tags, metadata and end users, through real HTTP with the official SDKs:
 * `x-tollgate-tags` and the body's `metadata` are checked (400 `invalid_tags` /
 * `invalid_metadata` before any provider call), kept on the request log (the
 * logs API shows and filters them), and `metadata` never reaches a provider
 * that does not define it. The usage report grouped by tag and by end user adds
 * up to the ledger to the micro-dollar (requests without either under ""), a
 * request with two tags counts under both, and the CSV export has the same rows.
 * Built-in OpenAI and Anthropic point at fakes, so the native paths are the real
 * ones; with TEST_REDIS_URL the charges also travel through the Redis queue.
 */
import { randomBytes } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind, TEST_REDIS_URL } from "./helpers/database.js";
import { createOrg, grantCredits, logRowOf, rows } from "./helpers/fixtures.js";

const modes: Array<{ holds: string; env: Record<string, string> }> = [{ holds: "in process", env: {} }];
if (TEST_REDIS_URL)
  modes.push({
    holds: "in Redis",
    env: { REDIS_URL: TEST_REDIS_URL, TOLLGATE_REDIS_PREFIX: `tgtest:${randomBytes(4).toString("hex")}:` },
  });
else
  describe.skip("tags and end users with charges queued in Redis (needs TEST_REDIS_URL)", () =>
    it("skipped", () => undefined));

const micro = (usd: string | null) => {
  const [whole, frac = ""] = (usd ?? "0").split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, "0").slice(0, 6));
};
const sum = (values: Array<{ costMicroUsd: string }>) => values.reduce((s, r) => s + BigInt(r.costMicroUsd), 0n);

describe.each(modes)(`tags, metadata and end users (${storageKind}, charges $holds)`, ({ env }) => {
  let t: TestApp;
  let base: string;
  let oa: FakeServer;
  let ant: FakeServer;
  let owner: Client;
  let slug: string;
  let orgId: string;
  let key: string;
  let keyId: string;

  beforeAll(async () => {
    [oa, ant] = await Promise.all([startOpenAIFake({ apiKey: "sk-oa" }), startAnthropicFake({ apiKey: "sk-ant" })]);
    t = await startTestApp({
      env: {
        OPENAI_API_KEY: "sk-oa",
        OPENAI_BASE_URL: `${oa.url}/v1`,
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: ant.url,
        ...env,
      },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    owner = await t.signUp();
    const org = await createOrg(owner, {});
    slug = org.slug;
    orgId = org.id;
    await grantCredits(t, slug, "100");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Shop", slug: "shop" })).status).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/shop/keys`, { name: "backend", environment: "live" });
    expect(k.status).toBe(201);
    key = k.body.key;
    keyId = k.body.id;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([oa?.close(), ant?.close()]);
  });

  const openai = (tags?: string) =>
    new OpenAI({
      apiKey: key,
      baseURL: `${base}/v1`,
      maxRetries: 0,
      defaultHeaders: tags === undefined ? {} : { "x-tollgate-tags": tags },
    });
  const anthropic = (tags?: string) =>
    new Anthropic({
      apiKey: key,
      baseURL: base,
      maxRetries: 0,
      defaultHeaders: tags === undefined ? {} : { "x-tollgate-tags": tags },
    });
  const logs = async (query = "") => {
    await t.app.flushLogs();
    const res = await owner.get(`/api/v1/orgs/${slug}/projects/shop/logs${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.logs as Array<Record<string, any>>;
  };
  const usage = async (groupBy?: string) => {
    await t.app.flushLogs();
    const res = await owner.get(`/api/v1/orgs/${slug}/billing/usage${groupBy ? `?groupBy=${groupBy}` : ""}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const ledgerUsage = async () => {
    await t.app.flushLogs();
    return -BigInt(
      (
        await rows<{ s: string }>(
          t,
          sql`select coalesce(sum(amount_micro_usd), 0)::text as s from ledger_entries where org_id = ${orgId} and kind = 'usage'`,
        )
      )[0]!.s,
    );
  };
  /** The request-log row of a request, once written. */
  const logRow = <T>(id: string | null, columns: string) => logRowOf<T>(t, id, columns);
  const chat = (content: string) => ({
    model: "openai/gpt-4o-mini",
    messages: [{ role: "user" as const, content }],
  });

  it("tags, the end user and metadata are kept on the log row and shown by the logs API; metadata never goes upstream", async () => {
    const { data, response } = await openai(" checkout , beta,checkout")
      .chat.completions.create({ ...chat("first tagged"), user: "user-42", metadata: { feature: "search", ab: "b" } })
      .withResponse();
    expect(data.choices[0]!.message.content).toContain("first tagged");
    const sent = oa.last();
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.body.user).toBe("user-42");
    expect("metadata" in sent.body).toBe(false);
    const id = response.headers.get("x-request-id")!;

    const row = await logRow(id, "tags, metadata, user_field");
    expect(row).toEqual({
      tags: ["checkout", "beta"],
      metadata: { feature: "search", ab: "b" },
      user_field: "user-42",
    });

    const listed = (await logs()).find((l) => l.requestId === id)!;
    expect(listed).toMatchObject({
      tags: ["checkout", "beta"],
      metadata: { feature: "search", ab: "b" },
      user: "user-42",
    });
    const detail = await owner.get(`/api/v1/orgs/${slug}/projects/shop/logs/${id}`);
    expect(detail.body).toMatchObject({ tags: ["checkout", "beta"], metadata: { feature: "search", ab: "b" } });

    // An untagged request shows null for both.
    const plain = await openai().chat.completions.create(chat("plain")).withResponse();
    const plainRow = (await logs()).find((l) => l.requestId === plain.response.headers.get("x-request-id"))!;
    expect(plainRow).toMatchObject({ tags: null, metadata: null, user: null });

    // Filters: by tag (any of the request's tags) and by end user.
    expect((await logs("?tag=beta")).map((l) => l.requestId)).toEqual([id]);
    expect((await logs("?tag=checkout")).map((l) => l.requestId)).toEqual([id]);
    expect(await logs("?tag=nope")).toEqual([]);
    expect((await logs("?user=user-42")).map((l) => l.requestId)).toEqual([id]);
    const csv = await owner.get(`/api/v1/orgs/${slug}/projects/shop/logs/export?format=csv&tag=beta`);
    const [header, line] = (csv.body as string).trim().split("\n");
    expect(header!.split(",").slice(-2)).toEqual(["tags", "metadata"]);
    // Tags as one cell; metadata as its JSON object (the database orders its keys).
    expect(line).toContain(`,"checkout,beta","{`);
    expect(line).toContain(`""feature"":""search""`);
  });

  it("metadata stays out of embeddings and Anthropic requests; /v1/messages keeps only Anthropic's own user_id", async () => {
    await openai("embed").embeddings.create({
      model: "openai/text-embedding-3-small",
      input: "hello",
      ...({ metadata: { feature: "rag" } } as object),
    });
    expect(oa.last().path).toBe("/v1/embeddings");
    expect("metadata" in oa.last().body).toBe(false);

    const { response } = await anthropic("chat-ui")
      .messages.create({
        model: "anthropic/claude-sonnet-4-0",
        max_tokens: 32,
        messages: [{ role: "user", content: "hi claude" }],
        metadata: { user_id: "user-7", ...({ feature: "assistant" } as object) },
      })
      .withResponse();
    expect(ant.last().body.metadata).toEqual({ user_id: "user-7" });
    const row = await logRow(response.headers.get("x-request-id"), "tags, metadata, user_field");
    expect(row).toEqual({
      tags: ["chat-ui"],
      metadata: { user_id: "user-7", feature: "assistant" },
      user_field: "user-7",
    });

    // The same request served by OpenAI (translated): no metadata upstream, the end user as `user`.
    await anthropic().messages.create({
      model: "openai/gpt-4o-mini",
      max_tokens: 32,
      messages: [{ role: "user", content: "hi gpt" }],
      metadata: { user_id: "user-7", ...({ feature: "assistant" } as object) },
    });
    expect(oa.last().path).toBe("/v1/chat/completions");
    expect("metadata" in oa.last().body).toBe(false);
    expect(oa.last().body.user).toBe("user-7");
  });

  it("the Responses API keeps its own metadata (echoed in the response) and logs it", async () => {
    const { data, response } = await openai("responses")
      .responses.create({ model: "openai/gpt-4o-mini", input: "hello responses", metadata: { feature: "summary" } })
      .withResponse();
    expect(data.metadata).toEqual({ feature: "summary" });
    const row = await logRow(response.headers.get("x-request-id"), "tags, metadata");
    expect(row).toEqual({ tags: ["responses"], metadata: { feature: "summary" } });
  });

  it("bad tags or metadata: 400 with a stable code, in the path's error shape, before any provider call or charge", async () => {
    await t.app.flushLogs();
    const upstream = oa.requests.length + ant.requests.length;
    const ledger = await ledgerUsage();
    const badTags = [
      "has space",
      "a,,b",
      "x".repeat(65),
      "semi;colon",
      Array.from({ length: 11 }, (_, i) => `t${i}`).join(","),
    ];
    for (const tags of badTags) {
      const err = await openai(tags)
        .chat.completions.create(chat("never sent"))
        .catch((e: unknown) => e);
      expect(err, tags).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(e.code, tags).toBe("invalid_tags");
      expect((e.error as { source?: string }).source).toBe("gateway");
      expect(e.message).toContain("x-tollgate-tags");
    }
    // Ten distinct tags (duplicates dropped first) are fine.
    const ten = Array.from({ length: 10 }, (_, i) => `t${i}`);
    await openai([...ten, "t0", "t1"].join(",")).chat.completions.create(chat("ten tags"));
    const tenRow = (await logs("?tag=t9"))[0]!;
    expect(tenRow.tags).toEqual(ten);
    const afterTen = oa.requests.length + ant.requests.length;
    expect(afterTen).toBe(upstream + 1);
    const tenCost = BigInt(tenRow.costMicroUsd);

    const badMetadata: Array<[unknown, string]> = [
      [{ team: 7 }, "metadata.team"],
      [["a"], "metadata"],
      ["a string", "metadata"],
      [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])), "metadata"],
      [{ ["k".repeat(65)]: "v" }, "metadata"],
      [{ note: "v".repeat(513) }, "metadata.note"],
    ];
    for (const [metadata, param] of badMetadata) {
      const err = await openai()
        .chat.completions.create({ ...chat("never sent"), metadata } as never)
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(metadata).slice(0, 40)).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(e.code).toBe("invalid_metadata");
      expect(e.param).toBe(param);
    }
    const emb = await openai()
      .embeddings.create({ model: "openai/text-embedding-3-small", input: "x", ...({ metadata: { n: 1 } } as object) })
      .catch((e: unknown) => e);
    expect((emb as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("invalid_metadata");
    const msg = await anthropic()
      .messages.create({
        model: "anthropic/claude-sonnet-4-0",
        max_tokens: 8,
        messages: [{ role: "user", content: "x" }],
        metadata: { user_id: "u", ...({ n: 1 } as object) },
      })
      .catch((e: unknown) => e);
    expect(msg).toBeInstanceOf(Anthropic.BadRequestError);
    expect((msg as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", code: "invalid_metadata", message: "`metadata.n` must be a string." },
    });
    const resp = await openai("bad tag!")
      .responses.create({ model: "openai/gpt-4o-mini", input: "x" })
      .catch((e: unknown) => e);
    expect((resp as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("invalid_tags");

    expect(oa.requests.length + ant.requests.length).toBe(afterTen);
    expect(await ledgerUsage()).toBe(ledger + tenCost);
    // The refusals are logged (with their code), not charged.
    const refused = await logs("?status=400");
    expect(refused.filter((l) => l.errorCode === "invalid_tags")).toHaveLength(badTags.length + 1);
    expect(refused.filter((l) => l.errorCode === "invalid_metadata")).toHaveLength(badMetadata.length + 2);
    expect(refused.every((l) => l.costMicroUsd === null && l.tags === null)).toBe(true);
  });

  it("usage by tag and by end user adds up to the ledger exactly; two tags count under both; CSV has the same rows", async () => {
    // An organization of its own: its ledger holds exactly the requests below.
    owner = await t.signUp();
    const org = await createOrg(owner, {});
    slug = org.slug;
    orgId = org.id;
    await grantCredits(t, slug, "10");
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: "Shop", slug: "shop" })).status).toBe(201);
    const k = await owner.post(`/api/v1/orgs/${slug}/projects/shop/keys`, { name: "backend", environment: "live" });
    key = k.body.key;
    keyId = k.body.id;
    const costOf = (r: { response: Response }) => micro(r.response.headers.get("x-tollgate-cost-usd"));
    const a = await openai("alpha")
      .chat.completions.create({ ...chat("one two three"), user: "u-1" })
      .withResponse();
    const b = await openai("beta")
      .chat.completions.create({ ...chat("four five"), user: "u-2" })
      .withResponse();
    const both = await openai("alpha,beta")
      .chat.completions.create({ ...chat("six seven eight nine"), user: "u-1" })
      .withResponse();
    const none = await openai().chat.completions.create(chat("nobody")).withResponse();
    for (const r of [a, b, both, none]) expect(costOf(r)).toBeGreaterThan(0n);
    // A free request counts as a request at no cost.
    await openai("alpha").chat.completions.create({
      model: "mock/echo",
      messages: [{ role: "user", content: "free" }],
    });

    const ledger = await ledgerUsage();
    const byTag = await usage("tag");
    const byUser = await usage("user");
    expect(byTag.groupBy).toBe("tag");
    expect(BigInt(byTag.totals.costMicroUsd)).toBe(ledger);
    expect(BigInt(byUser.totals.costMicroUsd)).toBe(ledger);

    // End users: every request once, so the rows add up to the ledger; no user under "".
    expect(sum(byUser.rows)).toBe(ledger);
    expect(byUser.rows.reduce((s: number, r: { requests: number }) => s + r.requests, 0)).toBe(byUser.totals.requests);
    const user = (v: string) => byUser.rows.find((r: { value: string }) => r.value === v);
    expect(BigInt(user("u-1").costMicroUsd)).toBe(costOf(a) + costOf(both));
    expect(user("u-1")).toMatchObject({ requests: 2, label: null });
    expect(BigInt(user("u-2").costMicroUsd)).toBe(costOf(b));
    expect(user("")).toBeDefined();

    // Tags: the two-tag request counts in full under both, so the rows add up to the ledger plus its cost once more.
    expect(sum(byTag.rows)).toBe(ledger + costOf(both));
    const tag = (v: string) => byTag.rows.find((r: { value: string }) => r.value === v);
    expect(BigInt(tag("alpha").costMicroUsd)).toBe(costOf(a) + costOf(both));
    expect(tag("alpha").requests).toBe(3);
    expect(BigInt(tag("beta").costMicroUsd)).toBe(costOf(b) + costOf(both));
    // The untagged row is every untagged request's cost, as the request logs have it.
    const [untagged] = await rows<{ s: string }>(
      t,
      sql`select coalesce(sum(cost_micro_usd), 0)::text as s from request_logs where org_id = ${orgId} and tags is null`,
    );
    expect(BigInt(tag("").costMicroUsd)).toBe(BigInt(untagged!.s));
    // Without the request with two tags, the tag rows too add up to the ledger exactly.
    expect(sum(byTag.rows) - costOf(both)).toBe(ledger);

    // The other groupings come from the key × model rows: each adds up to the ledger.
    for (const g of ["day", "project", "model", "key"]) {
      const r = await usage(g);
      expect(sum(r.rows), g).toBe(ledger);
      expect(BigInt(r.totals.costMicroUsd)).toBe(ledger);
    }
    expect((await usage("key")).rows).toEqual([expect.objectContaining({ value: keyId, label: "backend" })]);
    expect((await usage("project")).rows).toEqual([expect.objectContaining({ label: "shop" })]);
    expect((await usage("model")).rows.map((r: { value: string }) => r.value)).toContain("openai/gpt-4o-mini");

    // Without groupBy: the report as before (day × project × model × key).
    const plain = await usage();
    expect(plain.groupBy).toBeUndefined();
    expect(plain.rows[0]).toHaveProperty("day");
    expect(sum(plain.rows)).toBe(ledger);

    // CSV: a header naming the dimension, the same rows, the total line.
    const csv = await owner.get(`/api/v1/orgs/${slug}/billing/usage?groupBy=tag&format=csv`);
    expect(csv.status).toBe(200);
    expect(String(csv.headers["content-type"])).toContain("text/csv");
    expect(String(csv.headers["content-disposition"])).toMatch(/-by-tag\.csv"$/);
    const lines = (csv.body as string).trim().split("\n");
    expect(lines[0]).toBe("tag,label,requests,inputTokens,cachedInputTokens,outputTokens,costUsd,costMicroUsd");
    expect(lines).toHaveLength(byTag.rows.length + 2);
    const alphaLine = lines.find((l) => l.startsWith("alpha,"))!.split(",");
    expect(alphaLine[7]).toBe(tag("alpha").costMicroUsd);
    expect(lines.at(-1)!.split(",")).toEqual([
      "total",
      "",
      String(byTag.totals.requests),
      byTag.totals.inputTokens,
      byTag.totals.cachedInputTokens,
      byTag.totals.outputTokens,
      byTag.totals.costUsd,
      byTag.totals.costMicroUsd,
    ]);

    // An unknown grouping is a validation error.
    expect((await owner.get(`/api/v1/orgs/${slug}/billing/usage?groupBy=color`)).status).toBe(400);
  });
});
