/**
 * SSRF through custom providers' base URLs (reliability checklist D6): refused
 * at save time on the URL, and again at connect time on the resolved address —
 * a name the save-time check cannot judge is still refused when it resolves
 * to a private address the operator did not allow. Redirects are never
 * followed (see custom-providers.test.ts for the redirect to an internal host).
 */
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyAddress } from "../src/gateway/net/ssrf.js";
import type { FakeServer } from "./fakes/base.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { type Client, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, createOrg } from "./helpers/fixtures.js";

const provider = (baseUrl: string, slug: string) => ({
  name: slug,
  slug,
  format: "openai",
  baseUrl,
  apiKey: "sk-custom-0123456789",
  models: [{ id: "m1" }],
});

async function keyFor(owner: Client, org: string): Promise<string> {
  expect((await owner.post(`/api/v1/orgs/${org}/projects`, { name: "Gateway", slug: "gateway" })).status).toBe(201);
  const k = await owner.post(`/api/v1/orgs/${org}/projects/gateway/keys`, { name: "k", environment: "live" });
  expect(k.status).toBe(201);
  return k.body.key as string;
}

const chat = (owner: Client, key: string, model: string) =>
  owner.post(
    "/v1/chat/completions",
    { model, messages: [{ role: "user", content: "hi" }] },
    { authorization: `Bearer ${key}` },
  );

describe(`provider SSRF, no private hosts allowed (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let owner: Client;
  let org: string;

  beforeAll(async () => {
    fake = await startOpenAIFake();
    t = await startTestApp();
    owner = await t.signUp();
    org = (await createOrg(owner)).slug;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it.each([
    ["http://169.254.169.254/v1", "BASE_URL_FORBIDDEN_ADDRESS"],
    ["http://[fd00:ec2::254]/", "BASE_URL_FORBIDDEN_ADDRESS"],
    ["http://metadata.google.internal/", "BASE_URL_FORBIDDEN_ADDRESS"],
    ["http://2130706433/", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://0x7f.1/", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://[::ffff:127.0.0.1]/", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://[::1]:8000/v1", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://10.0.0.5/", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://192.168.1.10/v1", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://localhost:1234", "BASE_URL_PRIVATE_ADDRESS"],
    ["http://api.localhost/", "BASE_URL_PRIVATE_ADDRESS"],
    ["file:///etc/passwd", "BASE_URL_UNSUPPORTED_SCHEME"],
    ["https://user:pass@api.example.com/v1", "BASE_URL_CREDENTIALS_IN_URL"],
    ["not a url", "BASE_URL_INVALID_URL"],
  ])("refuses %s at save time (%s)", async (baseUrl, code) => {
    const before = await count(t, "custom_providers");
    const res = await owner.post(`/api/v1/orgs/${org}/providers`, provider(baseUrl, "bad"));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(await count(t, "custom_providers")).toBe(before);
  });

  it("refuses a private base URL on update too", async () => {
    const ok = await owner.post(`/api/v1/orgs/${org}/providers`, provider("https://api.example.com/v1", "public-one"));
    expect(ok.status).toBe(201);
    for (const baseUrl of ["http://169.254.169.254/", "http://127.0.0.1:9/"]) {
      const res = await owner.patch(`/api/v1/orgs/${org}/providers/public-one`, { baseUrl });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toMatch(/^BASE_URL_/);
    }
    expect((await owner.get(`/api/v1/orgs/${org}/providers/public-one`)).body.baseUrl).toBe(
      "https://api.example.com/v1",
    );
  });

  it("refuses at connect time a name that resolves to a private address", async () => {
    // The machine's own host name is a DNS name (not an IP, not "localhost") that usually resolves
    // to a loopback or private address: the save-time check cannot judge it, the dispatcher must.
    const name = hostname().toLowerCase();
    const resolved = await lookup(name, { all: true }).catch(() => []);
    if (!resolved.length || resolved.every((a) => classifyAddress(a.address) === "public") || /localhost/.test(name))
      return;
    const port = new URL(fake.url).port;
    const saved = await owner.post(`/api/v1/orgs/${org}/providers`, provider(`http://${name}:${port}/v1`, "rebind"));
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);

    const probe = await owner.post(`/api/v1/orgs/${org}/providers/rebind/test`, {});
    expect(probe.status).toBe(200);
    expect(probe.body).toMatchObject({ ok: false, error: { kind: "blocked" } });

    const key = await keyFor(owner, org);
    const res = await chat(owner, key, "rebind/m1");
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("upstream_address_blocked");
    expect(fake.requests).toHaveLength(0);
  });
});

describe(`provider SSRF, only ::1 allowed (${storageKind})`, () => {
  let t: TestApp;
  let fake: FakeServer;
  let owner: Client;
  let org: string;

  beforeAll(async () => {
    fake = await startOpenAIFake();
    t = await startTestApp({ env: { TOLLGATE_ALLOWED_PROVIDER_HOSTS: "::1" } });
    owner = await t.signUp();
    org = (await createOrg(owner)).slug;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it("a name allowed at save time is still refused when it resolves to an address that is not allowed", async () => {
    // "localhost" passes the save-time check (the operator allowed loopback ::1) but resolves to 127.0.0.1 here.
    const port = new URL(fake.url).port;
    const saved = await owner.post(`/api/v1/orgs/${org}/providers`, provider(`http://localhost:${port}/v1`, "loop"));
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    const resolved = await lookup("localhost", { all: true });
    if (!resolved.some((a) => a.address.startsWith("127."))) return;

    const probe = await owner.post(`/api/v1/orgs/${org}/providers/loop/test`, {});
    expect(probe.body).toMatchObject({ ok: false, error: { kind: "blocked" } });
    expect(probe.body.error.message).not.toContain("sk-custom");

    const key = await keyFor(owner, org);
    const res = await chat(owner, key, "loop/m1");
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: "upstream_address_blocked", source: "gateway" });
    expect(fake.requests).toHaveLength(0);
  });

  it("a literal IP that is not allowed is refused at save time even when another loopback is allowed", async () => {
    const res = await owner.post(
      `/api/v1/orgs/${org}/providers`,
      provider(`http://127.0.0.1:${new URL(fake.url).port}/v1`, "literal"),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BASE_URL_PRIVATE_ADDRESS");
  });
});
