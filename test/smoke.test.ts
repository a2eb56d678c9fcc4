import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";

describe(`foundation (${storageKind})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("answers health and readiness", async () => {
    expect((await t.anon.get("/healthz")).status).toBe(200);
    const ready = await t.anon.get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.database).toBe(storageKind);
  });

  it("puts x-request-id on every response, errors included", async () => {
    const res = await t.anon.get("/api/v1/nope");
    expect(res.status).toBe(404);
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.error).toEqual({
      code: "ROUTE_NOT_FOUND",
      message: expect.any(String),
      requestId: res.headers["x-request-id"],
    });
  });

  it("sign-up creates a personal organization the user owns", async () => {
    const alice = await t.signUp({ name: "Alice", email: "Alice.Smith@Example.com" });
    const me = await alice.get("/api/v1/me");
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe("alice.smith@example.com");
    expect(me.body.organizations).toHaveLength(1);
    expect(me.body.organizations[0]).toMatchObject({ personal: true, role: "owner" });
    expect(me.body.activeOrganization).toBe(me.body.organizations[0].slug);
  });

  it("serves the OpenAPI document and the reference page", async () => {
    const doc = await t.anon.get("/api/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toContain("/api/v1/orgs/{org}/invitations");
    const page = await t.anon.get("/api/docs/");
    expect(page.status).toBe(200);
    expect(String(page.headers["content-type"])).toContain("text/html");
  });
});
