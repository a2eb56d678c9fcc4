/**
 * The dashboard's playground over real HTTP: a signed-in person's chat call goes through the gateway
 * with their own playground key for the project (made on first use, listed with the project's keys,
 * its secret never shown), streamed or whole, logged and billed like any call; only people who reach
 * the project may use it, never an organization API token, never cross-site.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PUBLIC_URL, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { grantCredits, logRowOf, rows, team } from "./helpers/fixtures.js";

describe(`playground (${storageKind})`, () => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let member: Client;
  let admin: Client;
  let slug: string;
  let orgId: string;
  const path = (p = "main-app") => `/api/v1/orgs/${slug}/projects/${p}/playground`;

  /** A playground call as the dashboard makes it: the session cookie, the dashboard's origin. */
  const call = (c: Client, body: unknown, headers: Record<string, string> = {}, project?: string) =>
    fetch(`${base}${path(project)}/chat/completions`, {
      method: "POST",
      headers: { cookie: c.cookie, origin: PUBLIC_URL, "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const ask = (content: string, stream = false) => ({
    model: "mock/echo",
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    messages: [{ role: "user", content }],
  });
  const playgroundKeys = async (userId: string) =>
    rows<{ id: string; name: string; revoked_at: string | null }>(
      t,
      sql`select k.id, k.name, k.revoked_at from api_keys k where k.org_id = ${orgId} and k.created_by = ${userId} and k.name like 'Playground%' order by k.created_at`,
    );

  beforeAll(async () => {
    t = await startTestApp({
      env: { TOLLGATE_PRICE_OVERRIDES: JSON.stringify({ "mock/echo": { input: "1", output: "2" } }) },
    });
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    let org: { id: string };
    ({ owner, member, admin, slug, org } = await team(t, "Playground Co"));
    orgId = org.id;
    await grantCredits(t, slug, "10");
    for (const name of ["main-app", "other-app"])
      expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name, slug: name })).status).toBe(201);
    expect(
      (await owner.put(`/api/v1/orgs/${slug}/projects/main-app/members`, { userIds: [member.user!.id] })).status,
    ).toBe(200);
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
  });

  it("streams an answer through the gateway with the caller's playground key; logged and billed like any call", async () => {
    const res = await call(owner, ask("hello playground", true));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-tollgate-provider")).toBe("mock");
    const requestId = res.headers.get("x-request-id");
    const text = await res.text();
    const events = text
      .split("\n\n")
      .filter((e) => e.startsWith("data: {"))
      .map((e) => JSON.parse(e.slice(6)));
    const answer = events.map((e) => e.choices?.[0]?.delta?.content ?? "").join("");
    expect(answer).toContain("hello playground");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const last = events.at(-1);
    expect(last.usage.total_tokens).toBeGreaterThan(0);

    const [key] = await playgroundKeys(owner.user!.id);
    expect(key!.name).toBe(`Playground · ${owner.user!.email}`);
    const row = await logRowOf<{ key_id: string; cost_micro_usd: string; stream: boolean }>(
      t,
      requestId,
      "key_id, cost_micro_usd::text, stream",
    );
    expect(row).toMatchObject({ key_id: key!.id, stream: true });
    // Billed exactly what the answer said it cost, in the ledger too.
    const cost = BigInt(row!.cost_micro_usd);
    expect(cost).toBeGreaterThan(0n);
    expect(Math.round(Number(last.tollgate.cost_usd) * 1e6)).toBe(Number(cost));
    const [ledger] = await rows<{ s: string }>(
      t,
      sql`select coalesce(sum(amount_micro_usd), 0)::text as s from ledger_entries where org_id = ${orgId} and kind = 'usage'`,
    );
    expect(BigInt(ledger!.s)).toBe(-cost);
  });

  it("keeps one key per person and project, listed with the project's keys, its secret never shown", async () => {
    const whole = await call(owner, ask("again"));
    expect(whole.status).toBe(200);
    const json = (await whole.json()) as { choices: Array<{ message: { content: string } }> };
    expect(json.choices[0]!.message.content).toContain("again");
    expect(await playgroundKeys(owner.user!.id)).toHaveLength(1);
    const list = await owner.get(`/api/v1/orgs/${slug}/projects/main-app/keys`);
    const listed = list.body.keys.find((k: { name: string }) => k.name.startsWith("Playground"));
    expect(listed).toMatchObject({ environment: "live", status: "active" });
    expect(JSON.stringify(list.body)).not.toMatch(/tg_live_[0-9A-Za-z]{20,}/);
    const models = await fetch(`${base}${path()}/models`, { headers: { cookie: owner.cookie } });
    expect(models.status).toBe(200);
    const ids = ((await models.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    expect(ids).toContain("mock/echo");
  });

  it("a revoked playground key is replaced by a new one on the next call", async () => {
    const [key] = await playgroundKeys(owner.user!.id);
    expect((await owner.delete(`/api/v1/orgs/${slug}/projects/main-app/keys/${key!.id}`)).status).toBe(204);
    const res = await call(owner, ask("after revocation"));
    expect(res.status).toBe(200);
    await res.text();
    const keys = await playgroundKeys(owner.user!.id);
    expect(keys).toHaveLength(2);
    expect(keys[0]!.revoked_at).not.toBeNull();
    expect(keys[1]!.revoked_at).toBeNull();
  });

  it("members use it in projects they reach, with a key of their own; elsewhere the project is not found", async () => {
    const res = await call(member, ask("member here"));
    expect(res.status).toBe(200);
    await res.text();
    expect(await playgroundKeys(member.user!.id)).toHaveLength(1);
    const elsewhere = await call(member, ask("no"), {}, "other-app");
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { error: { code: string } }).error.code).toBe("PROJECT_NOT_FOUND");
  });

  it("two first calls at once leave the person one working key", async () => {
    const both = await Promise.all([call(admin, ask("one")), call(admin, ask("two"))]);
    for (const r of both) {
      expect(r.status).toBe(200);
      await r.text();
    }
    const keys = await playgroundKeys(admin.user!.id);
    expect(keys.filter((k) => k.revoked_at === null)).toHaveLength(1);
    const res = await call(admin, ask("three"));
    expect(res.status).toBe(200);
    await res.text();
    expect((await playgroundKeys(admin.user!.id)).filter((k) => k.revoked_at === null)).toHaveLength(1);
  });

  it("refuses the signed-out, cross-site calls and organization API tokens", async () => {
    const anon = await fetch(`${base}${path()}/chat/completions`, {
      method: "POST",
      headers: { origin: PUBLIC_URL, "content-type": "application/json" },
      body: JSON.stringify(ask("x")),
    });
    expect(anon.status).toBe(401);
    const crossSite = await call(owner, ask("x"), { origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe("CSRF_REJECTED");
    const minted = await owner.post(`/api/v1/orgs/${slug}/api-tokens`, { name: "CI", role: "admin" });
    expect(minted.status).toBe(201);
    const viaToken = await fetch(`${base}${path()}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${minted.body.token}`, "content-type": "application/json" },
      body: JSON.stringify(ask("x")),
    });
    expect(viaToken.status).toBe(403);
    expect(((await viaToken.json()) as { error: { code: string } }).error.code).toBe("API_TOKEN_FORBIDDEN");
  });

  it("a bad body gets the gateway's own error, and nothing is charged", async () => {
    await t.app.flushLogs(); // the earlier calls' charges are written
    const [before] = await rows<{ s: string }>(
      t,
      sql`select coalesce(sum(amount_micro_usd), 0)::text as s from ledger_entries where org_id = ${orgId}`,
    );
    const res = await call(owner, "{not json");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    const [after] = await rows<{ s: string }>(
      t,
      sql`select coalesce(sum(amount_micro_usd), 0)::text as s from ledger_entries where org_id = ${orgId}`,
    );
    expect(after!.s).toBe(before!.s);
  });
});
