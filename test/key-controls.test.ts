/**
 * A key's own controls, through real HTTP: a key may carry its own allowed
 * models (within its project's) and its own request and token limits (in place
 * of the project's per-key limits); whoever may revoke a key may change them
 * (members their own keys, owners and admins any), audited; a change applies
 * to the key's next request; /v1/models shows what the key may use.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { auditActions, grantCredits, joinOrg, team } from "./helpers/fixtures.js";

describe(`key controls (${storageKind})`, () => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let member: Client;
  let slug: string;
  let orgId: string;
  const keys = () => `/api/v1/orgs/${slug}/projects/main-app/keys`;

  const chat = (key: string, model: string) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const models = async (key: string) =>
    (
      (await (await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
        data: Array<{ id: string }>;
      }
    ).data.map((m) => m.id);

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.server.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    let org: { id: string };
    ({ owner, member, slug, org } = await team(t, "Key Controls Co"));
    orgId = org.id;
    await grantCredits(t, slug, "10");
    const p = await owner.post(`/api/v1/orgs/${slug}/projects`, {
      name: "main-app",
      slug: "main-app",
      allowedModels: ["mock/*"],
    });
    expect(p.status).toBe(201);
    expect(
      (await owner.put(`/api/v1/orgs/${slug}/projects/main-app/members`, { userIds: [member.user!.id] })).status,
    ).toBe(200);
  });
  afterAll(async () => {
    t.app.server.server.closeAllConnections();
    await t.close();
  });

  it("a key's own allowed models narrow its project's, in the gateway and in /v1/models", async () => {
    const created = await owner.post(keys(), { name: "echo only", environment: "live", allowedModels: ["mock/echo"] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ allowedModels: ["mock/echo"], rateLimit: { rpm: null, tpm: null } });
    const key = created.body.key as string;
    expect((await chat(key, "mock/echo")).status).toBe(200);
    const refused = await chat(key, "mock/lorem");
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: "model_not_allowed" });
    expect(refused.body.error.message).toMatch(/This API key may not use "mock\/lorem"/);
    expect(await models(key)).toEqual(["mock/echo"]);

    // Within the project's: a model the project does not allow is refused at save time.
    const outside = await owner.post(keys(), { name: "x", environment: "live", allowedModels: ["openai/gpt-4o"] });
    expect(outside.body.error.code).toBe("KEY_MODELS_OUTSIDE_PROJECT");
    // A change applies to the key's next request: null gives it the project's models back.
    const widened = await owner.patch(`${keys()}/${created.body.id}`, { allowedModels: null });
    expect(widened.status).toBe(200);
    expect(widened.body.allowedModels).toBeNull();
    expect((await chat(key, "mock/lorem")).status).toBe(200);
    expect(await auditActions(t, orgId)).toContain("key.updated");
  });

  it("a key's own request limit replaces the project's per-key limit; other keys are not affected", async () => {
    const limited = await owner.post(keys(), { name: "limited", environment: "live", rateLimit: { rpm: 2 } });
    expect(limited.body.rateLimit).toEqual({ rpm: 2, tpm: null });
    const other = await owner.post(keys(), { name: "other", environment: "live" });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(limited.body.key, "mock/echo")).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await chat(other.body.key, "mock/echo")).status).toBe(200);
    // Raised: the key takes requests again at once.
    expect((await owner.patch(`${keys()}/${limited.body.id}`, { rateLimit: { rpm: 100 } })).body.rateLimit).toEqual({
      rpm: 100,
      tpm: null,
    });
    expect((await chat(limited.body.key, "mock/echo")).status).toBe(200);
  });

  it("members change their own keys only; a revoked key cannot be changed", async () => {
    const mine = await member.post(keys(), { name: "member key", environment: "live" });
    expect(mine.status).toBe(201);
    expect(
      (await member.patch(`${keys()}/${mine.body.id}`, { name: "renamed", rateLimit: { rpm: 5 } })).body,
    ).toMatchObject({ name: "renamed", rateLimit: { rpm: 5, tpm: null } });
    const owners = await owner.post(keys(), { name: "owner key", environment: "live" });
    expect((await member.patch(`${keys()}/${owners.body.id}`, { name: "mine now" })).status).toBe(403);
    expect((await owner.patch(`${keys()}/${mine.body.id}`, { allowedModels: ["mock/echo"] })).status).toBe(200);
    expect((await owner.delete(`${keys()}/${mine.body.id}`)).status).toBe(204);
    expect((await member.patch(`${keys()}/${mine.body.id}`, { name: "again" })).body.error.code).toBe("KEY_REVOKED");
    expect((await member.patch(`${keys()}/${mine.body.id}`, {})).status).toBe(400);
    const admin = await joinOrg(t, owner, slug, "admin");
    expect((await admin.patch(`${keys()}/${owners.body.id}`, { name: "by admin" })).status).toBe(200);
  });
});
