/**
 * Bad input at the HTTP boundary: mass assignment, malformed JSON, wrong types,
 * oversized strings and bodies, wrong content types and prototype keys. Each
 * is refused with a stable code and writes nothing.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client, TestApp } from "./helpers/app.js";
import { startTestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, rows, team } from "./helpers/fixtures.js";

describe(`bad input (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  beforeAll(async () => {
    t = await startTestApp();
    const x = await team(t, "Input Co");
    ({ owner, member, slug } = x);
    orgId = x.org.id;
  });
  afterAll(() => t.close());

  const state = async () => ({
    orgs: await rows(t, sql`select id, slug, name, description, personal from organizations order by id`),
    members: await rows(t, sql`select org_id, user_id, role from members order by org_id, user_id`),
    users: await rows(t, sql`select id, name, email from users order by id`),
    invitations: await count(t, "invitations"),
    audit: await count(t, "audit_log"),
  });

  /** Sends the request and checks status, code and that nothing was written. */
  async function refused(send: () => Promise<{ status: number; body: any }>, status: number, code: string) {
    const before = await state();
    const res = await send();
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.requestId).toEqual(expect.any(String));
    expect(await state()).toEqual(before);
    return res;
  }

  it("PATCH /me cannot set role, email or id (mass assignment)", async () => {
    await refused(() => member.patch("/api/v1/me", { role: "owner" }), 400, "VALIDATION_ERROR");
    await refused(() => member.patch("/api/v1/me", { email: "takeover@evil.example" }), 400, "VALIDATION_ERROR");
    await refused(
      () => member.patch("/api/v1/me", { name: "Fine", email: "takeover@evil.example" }),
      400,
      "VALIDATION_ERROR",
    );
    await refused(() => member.patch("/api/v1/me", { id: owner.user!.id }), 400, "VALIDATION_ERROR");
    await refused(() => member.patch("/api/v1/me", { emailVerified: true }), 400, "VALIDATION_ERROR");
    const me = await member.get("/api/v1/me");
    expect(me.body.user.email).toBe(member.user!.email);
    expect(me.body.organizations.find((o: { slug: string }) => o.slug === slug).role).toBe("member");
  });

  it("POST /orgs refuses id, personal, role and ownerId", async () => {
    for (const extra of [
      { id: "00000000-0000-0000-0000-000000000000" },
      { personal: true },
      { role: "admin" },
      { ownerId: owner.user!.id },
      { createdBy: owner.user!.id },
    ]) {
      const res = await refused(
        () => member.post("/api/v1/orgs", { name: "Sneaky", ...extra }),
        400,
        "VALIDATION_ERROR",
      );
      expect(JSON.stringify(res.body.error.details)).toContain(Object.keys(extra)[0]!);
    }
  });

  it("PATCH members refuses role owner and unknown fields; PATCH org refuses unknown fields", async () => {
    await refused(
      () => owner.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "owner" }),
      400,
      "VALIDATION_ERROR",
    );
    await refused(
      () => owner.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "admin", orgId: "x" }),
      400,
      "VALIDATION_ERROR",
    );
    await refused(() => owner.patch(`/api/v1/orgs/${slug}`, { name: "ok", personal: true }), 400, "VALIDATION_ERROR");
    await refused(
      () =>
        owner.post(`/api/v1/orgs/${slug}/invitations`, { email: "x@example.com", role: "member", status: "accepted" }),
      400,
      "VALIDATION_ERROR",
    );
  });

  it("malformed JSON is 400 INVALID_JSON", async () => {
    for (const body of ['{"name":', "{name: 'x'}", "[1,2", '{"name":"a"}}', "nul"]) {
      await refused(
        () => owner.post("/api/v1/orgs", body, { "content-type": "application/json" }),
        400,
        "INVALID_JSON",
      );
    }
    await refused(() => owner.post("/api/v1/orgs", "", { "content-type": "application/json" }), 400, "INVALID_JSON");
  });

  it("wrong types are 400 VALIDATION_ERROR with details naming the field", async () => {
    const res = await refused(
      () => owner.post("/api/v1/orgs", { name: 123, description: ["x"] }),
      400,
      "VALIDATION_ERROR",
    );
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toContain("body.name");
    expect(paths).toContain("body.description");
    for (const d of res.body.error.details) expect(d.message).toEqual(expect.any(String));
    await refused(() => owner.post("/api/v1/orgs", ["name"]), 400, "VALIDATION_ERROR");
    await refused(
      () => owner.post("/api/v1/orgs", "null", { "content-type": "application/json" }),
      400,
      "VALIDATION_ERROR",
    );
    await refused(
      () => owner.post(`/api/v1/orgs/${slug}/invitations`, { email: "not-an-email", role: "member" }),
      400,
      "VALIDATION_ERROR",
    );
    await refused(() => owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: 42 }), 400, "VALIDATION_ERROR");
  });

  it("oversized strings are 400", async () => {
    const huge = "x".repeat(10_000);
    await refused(() => owner.post("/api/v1/orgs", { name: huge }), 400, "VALIDATION_ERROR");
    await refused(() => owner.patch(`/api/v1/orgs/${slug}`, { description: huge }), 400, "VALIDATION_ERROR");
    await refused(() => owner.patch("/api/v1/me", { name: huge }), 400, "VALIDATION_ERROR");
    await refused(
      () => owner.post(`/api/v1/orgs/${slug}/invitations`, { email: `${huge}@example.com`, role: "member" }),
      400,
      "VALIDATION_ERROR",
    );
    await refused(() => owner.post("/api/v1/orgs", { name: "   " }), 400, "VALIDATION_ERROR");
  });

  it("names are one line: line breaks and control characters are 400 (they end up in email subjects)", async () => {
    for (const name of [
      "Acme\r\nBcc: victim@example.com",
      "Acme\n\nAccept the invitation: https://evil.example/invite/x",
      "Tab\there",
      "Nul\u0000byte",
      "Line\u2028sep",
    ]) {
      await refused(() => owner.post("/api/v1/orgs", { name }), 400, "VALIDATION_ERROR");
      await refused(() => owner.patch(`/api/v1/orgs/${slug}`, { name }), 400, "VALIDATION_ERROR");
      await refused(() => owner.patch("/api/v1/me", { name }), 400, "VALIDATION_ERROR");
      await refused(
        () =>
          t.anon.post("/api/auth/sign-up/email", {
            name,
            email: `ctl-${Date.now()}@example.com`,
            password: "correct horse battery",
          }),
        400,
        "VALIDATION_ERROR",
      );
    }
    // A description may span lines; unicode names are fine.
    const ok = await owner.post("/api/v1/orgs", { name: "Zürich Ünïted 東京", description: "line one\nline two" });
    expect(ok.status).toBe(201);
    expect(ok.body.description).toBe("line one\nline two");
  });

  it("a body over 1 MiB is 413 PAYLOAD_TOO_LARGE", async () => {
    const body = JSON.stringify({ name: "big", description: "y".repeat(1024 * 1024) });
    await refused(
      () => owner.post("/api/v1/orgs", body, { "content-type": "application/json" }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
  });

  it("non-JSON content types are 415", async () => {
    await refused(
      () => owner.post("/api/v1/orgs", JSON.stringify({ name: "plain" }), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await refused(
      () => owner.post("/api/v1/orgs", "name=form", { "content-type": "application/x-www-form-urlencoded" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await refused(
      () => owner.patch("/api/v1/me", "name=x", { "content-type": "multipart/form-data; boundary=x" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  });

  it("prototype keys are refused", async () => {
    await refused(
      () =>
        owner.post("/api/v1/orgs", '{"name":"proto","__proto__":{"role":"owner"}}', {
          "content-type": "application/json",
        }),
      400,
      "INVALID_JSON",
    );
    await refused(
      () => owner.patch("/api/v1/me", '{"__proto__":{"isAdmin":true}}', { "content-type": "application/json" }),
      400,
      "INVALID_JSON",
    );
    await refused(
      () =>
        owner.post("/api/v1/orgs", '{"name":"c","constructor":{"prototype":{"x":1}}}', {
          "content-type": "application/json",
        }),
      400,
      "INVALID_JSON",
    );
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it("deeply nested JSON is refused without crashing the server", async () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    await refused(
      () => owner.post("/api/v1/orgs", `{"name":"deep","description":${deep}}`, { "content-type": "application/json" }),
      400,
      "VALIDATION_ERROR",
    );
    expect((await owner.get("/api/v1/me")).status).toBe(200);
  });

  it("bad query strings and path params are 400, not 500", async () => {
    await refused(() => owner.get(`/api/v1/orgs/${slug}/audit-log?limit=abc`), 400, "VALIDATION_ERROR");
    await refused(() => owner.get(`/api/v1/orgs/${slug}/audit-log?limit=100000`), 400, "VALIDATION_ERROR");
    await refused(() => owner.get(`/api/v1/orgs/${slug}/audit-log?cursor=1;drop`), 400, "VALIDATION_ERROR");
    await refused(() => owner.get(`/api/v1/orgs/${slug}/audit-log?from=yesterday`), 400, "VALIDATION_ERROR");
    await refused(() => owner.get(`/api/v1/orgs/${slug}/invitations?status=weird`), 400, "VALIDATION_ERROR");
    await refused(() => owner.delete(`/api/v1/orgs/${slug}/invitations/not-a-uuid`), 400, "VALIDATION_ERROR");
    await refused(
      () => owner.delete(`/api/v1/orgs/${slug}/members/${member.user!.id}?keepKeys=maybe`),
      400,
      "VALIDATION_ERROR",
    );
    const preview = await t.anon.get(`/api/v1/invitations/short`);
    expect(preview.status).toBe(400);
    expect(await count(t, "members", sql`org_id = ${orgId}`)).toBe(3);
  });
});
