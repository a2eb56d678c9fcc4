/**
 * Google Vertex AI's credentials end to end (test/helpers/vertex.ts): the
 * access token is fetched once per service account key and reused across
 * calls, and one about to expire is refreshed (the library's refresh margin,
 * no sleeping); the token request goes out through the call's dispatcher (the
 * SSRF guard stops a private token endpoint); the key appears in no API
 * answer, log row or audit row; and the built-in `vertex` provider configured
 * from GOOGLE_VERTEX_* and GOOGLE_APPLICATION_CREDENTIALS answers, priced as
 * Google's and Anthropic's models.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libraryModel } from "../src/gateway/catalog.js";
import { costMicroUsd } from "../src/gateway/metering/cost.js";
import { createGuardedDispatcher } from "../src/gateway/net/ssrf.js";
import { usageFromGemini } from "../src/gateway/providers/gemini/usage.js";
import { createVertexAdapter } from "../src/gateway/providers/vertex/adapter.js";
import { storageKind } from "./helpers/database.js";
import { rows } from "./helpers/fixtures.js";
import {
  bearerOf,
  CLAUDE,
  EMBED,
  GEMINI,
  INSTANCE,
  INSTANCE_SA,
  LOCATION,
  ORG_SA,
  PROJECT,
  serviceAccount,
  startVertexSuite,
  usd,
  type VertexSuite,
} from "./helpers/vertex.js";

const SHORT_SA = "short-lived@acme-vertex-1.iam.gserviceaccount.com";

describe(`Google Vertex AI credentials (${storageKind})`, () => {
  let s: VertexSuite;
  beforeAll(async () => {
    s = await startVertexSuite();
    expect((await s.owner.post(s.providers(), s.providerBody())).status).toBe(201);
    // Calls of every kind, to both publishers: chat, a stream, embeddings.
    const ai = s.openai();
    await ai.chat.completions.create({ model: `vx/${GEMINI}`, messages: [{ role: "user", content: "one" }] });
    await ai.chat.completions.create({ model: `vx/${CLAUDE}`, messages: [{ role: "user", content: "two" }] });
    const stream = await ai.chat.completions.create({
      model: `vx/${CLAUDE}`,
      stream: true,
      messages: [{ role: "user", content: "three" }],
    });
    for await (const _ of stream);
    await ai.embeddings.create({ model: `vx/${EMBED}`, input: "four" });
  });
  afterAll(async () => {
    await s.close();
  });

  it("the access token is fetched once and reused; one about to expire is refreshed", async () => {
    // Every call so far of the vx provider carried the one token issued to its key.
    const orgTokens = s.issuedTo(ORG_SA);
    expect(orgTokens).toHaveLength(1);
    const used = new Set(s.vertex.requests.map(bearerOf));
    expect(used.has(orgTokens[0]!.token)).toBe(true);

    // A key whose tokens live 60 s, inside the library's five-minute refresh margin: each call refreshes.
    const short = await serviceAccount(SHORT_SA);
    s.tokens.addAccount(SHORT_SA, short.publicKey, 60);
    expect(
      (await s.owner.post(s.providers(), { ...s.providerBody(), slug: "vx-short", serviceAccountJson: short.json }))
        .status,
    ).toBe(201);
    const call = async () => {
      await s.openai().chat.completions.create({
        model: `vx-short/${GEMINI}`,
        messages: [{ role: "user", content: "t" }],
      });
      return bearerOf(s.vertex.last());
    };
    const first = await call();
    const second = await call();
    expect(second).not.toBe(first);
    s.tokens.setLifetime(SHORT_SA, 3600);
    const third = await call();
    expect(await call()).toBe(third);
    expect(s.issuedTo(SHORT_SA).map((i) => i.token)).toEqual([first, second, third]);
  });

  it("the token request goes out through the call's dispatcher: the SSRF guard stops a private token endpoint", async () => {
    const guarded = createGuardedDispatcher([]);
    const before = s.tokens.requests.length;
    const failed = await createVertexAdapter()
      .chat(
        { model: GEMINI, messages: [{ role: "user", content: "x" }] },
        {
          baseUrl: s.vertex.url,
          apiKey: s.orgKey.json,
          model: GEMINI,
          vertex: { project: PROJECT, location: LOCATION, tokenUrl: s.tokens.tokenUrl },
        },
        {
          signal: AbortSignal.timeout(10_000),
          dispatcher: guarded,
          timeouts: { connectMs: 5_000, firstByteMs: 5_000, idleMs: 5_000, totalMs: 10_000 },
        },
      )
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ kind: "blocked" });
    expect(s.tokens.requests.length).toBe(before);
    await guarded.close();
  });

  it("the service account key is in no API answer, log row or audit row", async () => {
    const answers = [
      await s.owner.get(s.providers()),
      await s.owner.get(`${s.providers()}/vx`),
      await s.owner.patch(`${s.providers()}/vx`, { serviceAccountJson: s.orgKey.json, name: "Vertex (rotated)" }),
    ];
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.body)).not.toContain(s.orgKey.secret);
      expect(JSON.stringify(r.body)).not.toContain("PRIVATE KEY");
    }
    expect(answers[2]!.body.apiKeyHint).toBe(ORG_SA);
    await s.t.app.flushLogs();
    const stored = await rows<{ row: string }>(
      s.t,
      sql`select c::text as row from custom_providers c where org_id = ${s.orgId}`,
    );
    const audit = await rows<{ row: string }>(
      s.t,
      sql`select a::text as row from audit_log a where org_id = ${s.orgId}`,
    );
    const logs = await rows<{ row: string }>(s.t, sql`select r::text as row from request_logs r`);
    expect(audit.some((a) => a.row.includes("serviceAccountJson (replaced)"))).toBe(true);
    for (const text of [...stored, ...audit, ...logs].map((r) => r.row)) {
      expect(text).not.toContain(s.orgKey.secret);
      expect(text).not.toContain("PRIVATE KEY");
    }
    expect(logs.length).toBeGreaterThan(5);
  });

  it("the built-in vertex provider from the environment answers, priced as Google's and Anthropic's models", async () => {
    const { data, response } = await s
      .openai()
      .chat.completions.create({ model: `vertex/${GEMINI}`, messages: [{ role: "user", content: "instance-wide" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("echo: instance-wide");
    expect(response.headers.get("x-tollgate-provider")).toBe("vertex");
    const seen = s.instanceVertex.last();
    expect(seen.path).toBe(
      `/v1/projects/${INSTANCE.project}/locations/${INSTANCE.location}/publishers/google/models/${GEMINI}:generateContent`,
    );
    expect(bearerOf(seen)).toBe(s.issuedTo(INSTANCE_SA)[0]!.token);
    const price = libraryModel("gemini", GEMINI)!.prices!;
    const expected = costMicroUsd(usageFromGemini(s.instanceVertex.reported.at(-1) as never)!, price);
    expect(expected).toBeGreaterThan(0n);
    expect(response.headers.get("x-tollgate-cost-usd")).toBe(usd(expected));
    expect(libraryModel("vertex", "claude-sonnet-4-5")?.prices).toEqual(
      libraryModel("anthropic", "claude-sonnet-4-5")?.prices,
    );
  });
});
