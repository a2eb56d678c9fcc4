/**
 * CSRF for cookie sessions: a state-changing request carrying the session
 * cookie must come from the dashboard's origin and not be cross-site by
 * Fetch-Metadata; otherwise 403 CSRF_REJECTED and nothing changes.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, OMIT, PUBLIC_URL, startTestApp, type TestApp } from "./helpers/app.js";
import { storageKind } from "./helpers/database.js";
import { count, createOrg, rows, team } from "./helpers/fixtures.js";

describe(`csrf (${storageKind})`, () => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let slug: string;
  let orgId: string;

  beforeAll(async () => {
    t = await startTestApp();
    const x = await team(t, "Csrf Co");
    owner = x.owner;
    member = x.member;
    slug = x.slug;
    orgId = x.org.id;
  });
  afterAll(() => t.close());

  const hostile: Array<[string, Record<string, string>]> = [
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["no Origin", { origin: OMIT }],
    ["a foreign Referer and no Origin", { origin: OMIT, referer: "https://evil.example/page" }],
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
    ["an Origin that only looks alike", { origin: `${PUBLIC_URL}.evil.example` }],
    ["Origin: null (sandboxed frame)", { origin: "null" }],
  ];

  const state = async () => ({
    orgs: await count(t, "organizations"),
    org: await rows(t, sql`select slug, name from organizations where id = ${orgId}`),
    members: await rows(t, sql`select user_id, role from members where org_id = ${orgId} order by user_id`),
    invitations: await count(t, "invitations"),
    audit: await count(t, "audit_log"),
    names: await rows(t, sql`select id, name from users order by id`),
  });

  for (const [label, headers] of hostile) {
    it(`rejects state changes with ${label}`, async () => {
      const before = await state();
      const attempts = [
        owner.post("/api/v1/orgs", { name: "Planted" }, headers),
        owner.patch(`/api/v1/orgs/${slug}`, { name: "Defaced" }, headers),
        owner.delete(`/api/v1/orgs/${slug}`, { confirm: slug }, headers),
        owner.post(`/api/v1/orgs/${slug}/invitations`, { email: "attacker@evil.example", role: "admin" }, headers),
        owner.patch(`/api/v1/orgs/${slug}/members/${member.user!.id}`, { role: "admin" }, headers),
        owner.post(`/api/v1/orgs/${slug}/transfer`, { userId: member.user!.id }, headers),
        owner.patch("/api/v1/me", { name: "Pwned" }, headers),
        member.post(`/api/v1/orgs/${slug}/leave`, undefined, headers),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("CSRF_REJECTED");
      }
      expect(await state()).toEqual(before);
    });
  }

  it("sign-out from another site does not end the session", async () => {
    const res = await owner.post("/api/auth/sign-out", undefined, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect((await owner.get("/api/v1/me")).status).toBe(200);
  });

  it("reads work without an Origin; same-origin changes work", async () => {
    expect((await owner.get(`/api/v1/orgs/${slug}`, { "sec-fetch-site": "cross-site" })).status).toBe(200);
    expect((await owner.get("/api/v1/me")).status).toBe(200);
    const ok = await owner.post("/api/v1/orgs", { name: "Legit" }, { "sec-fetch-site": "same-origin" });
    expect(ok.status).toBe(201);
    // A Referer from the dashboard stands in for a missing Origin.
    const viaReferer = await owner.patch(
      `/api/v1/orgs/${ok.body.slug}`,
      { description: "from the dashboard" },
      { origin: OMIT, referer: `${PUBLIC_URL}/settings` },
    );
    expect(viaReferer.status).toBe(200);
  });

  it("a text/plain body (what a cross-site form can send) is refused with 415", async () => {
    const before = await count(t, "organizations");
    const res = await owner.post("/api/v1/orgs", JSON.stringify({ name: "Form post" }), {
      "content-type": "text/plain",
    });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(await count(t, "organizations")).toBe(before);
    await createOrg(owner, { name: "Still works" });
  });
});
