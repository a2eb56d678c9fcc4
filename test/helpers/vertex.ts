/**
 * What the Vertex AI suites share: service account keys made in the test (a
 * fresh RSA key pair via jose, in the key file format Google issues), the
 * loopback token endpoint and Vertex fakes, an app whose built-in `vertex`
 * provider comes from GOOGLE_VERTEX_* and a key file, an organization with
 * credits and a project key, and the body of its Vertex custom provider `vx`.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { exportPKCS8, generateKeyPair } from "jose";
import OpenAI from "openai";
import { expect } from "vitest";
import { startGoogleTokenFake, startVertexFake } from "../fakes/vertex-fake.js";
import { startTestApp } from "./app.js";
import { grantCredits, rows, team } from "./fixtures.js";

export const PROJECT = "acme-vertex-1";
export const LOCATION = "us-east5";
export const GEMINI = "gemini-2.5-flash";
export const CLAUDE = "claude-sonnet-4-5@20250929";
export const EMBED = "text-embedding-005";
export const ORG_SA = "tollgate-gw@acme-vertex-1.iam.gserviceaccount.com";
export const INSTANCE_SA = "instance@tollgate-ops.iam.gserviceaccount.com";
export const INSTANCE = { project: "tollgate-ops", location: "europe-west4" };

export const usd = (micro: bigint) => `${micro / 1_000_000n}.${(micro % 1_000_000n).toString().padStart(6, "0")}`;

/** A service account key file as Google issues it, for a fresh RSA key pair; `secret`: a run of its private key. */
export async function serviceAccount(clientEmail: string, tokenUri = "https://oauth2.googleapis.com/token") {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const pem = await exportPKCS8(privateKey);
  const json = JSON.stringify({
    type: "service_account",
    project_id: clientEmail.split("@")[1]!.split(".")[0],
    private_key_id: "0123456789abcdef0123456789abcdef01234567",
    private_key: pem,
    client_email: clientEmail,
    client_id: "123456789012345678901",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: tokenUri,
    universe_domain: "googleapis.com",
  });
  return { json, publicKey, secret: pem.split("\n")[5]! };
}

export const bearerOf = (r: { headers: Record<string, unknown> }) =>
  String(r.headers.authorization).replace(/^Bearer /, "");

export async function startVertexSuite() {
  const tokens = await startGoogleTokenFake();
  const instanceKey = await serviceAccount(INSTANCE_SA, tokens.tokenUrl);
  const orgKey = await serviceAccount(ORG_SA);
  tokens.addAccount(ORG_SA, orgKey.publicKey);
  tokens.addAccount(INSTANCE_SA, instanceKey.publicKey);
  const [vertex, instanceVertex] = await Promise.all([
    startVertexFake({ project: PROJECT, location: LOCATION, tokens }),
    startVertexFake({ ...INSTANCE, tokens }),
  ]);
  const keyFile = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-vertex-")), "key.json");
  writeFileSync(keyFile, instanceKey.json, { mode: 0o600 });
  const t = await startTestApp({
    env: {
      TOLLGATE_ALLOWED_PROVIDER_HOSTS: "127.0.0.1",
      GOOGLE_VERTEX_PROJECT: INSTANCE.project,
      GOOGLE_VERTEX_LOCATION: INSTANCE.location,
      GOOGLE_VERTEX_BASE_URL: instanceVertex.url,
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    },
  });
  await t.app.server.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
  const { owner, slug, org } = await team(t, "Vertex Co");
  await grantCredits(t, slug, "100");

  async function projectKey(name: string, settings: Record<string, unknown> = {}) {
    expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name, slug: name, ...settings })).status).toBe(201);
    return (await owner.post(`/api/v1/orgs/${slug}/projects/${name}/keys`, { name: "k", environment: "live" })).body
      .key as string;
  }
  const key = await projectKey("main-app");

  return {
    t,
    tokens,
    vertex,
    instanceVertex,
    base,
    owner,
    slug,
    orgId: (org as { id: string }).id,
    key,
    orgKey,
    projectKey,
    providers: () => `/api/v1/orgs/${slug}/providers`,
    openai: (k = key) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0 }),
    issuedTo: (email: string) => tokens.issued.filter((i) => i.clientEmail === email),
    /** The `vx` provider: the org's key, the fakes' URLs, three priced models. */
    providerBody: () => ({
      name: "Vertex prod",
      slug: "vx",
      format: "vertex",
      project: PROJECT,
      location: LOCATION,
      serviceAccountJson: orgKey.json,
      baseUrl: vertex.url,
      tokenUrl: tokens.tokenUrl,
      models: [
        { id: GEMINI, inputPricePerMillion: "0.3", outputPricePerMillion: "2.5" },
        { id: CLAUDE, inputPricePerMillion: "3", outputPricePerMillion: "15" },
        { id: EMBED, inputPricePerMillion: "0.025" },
      ],
    }),
    async loggedCost(requestId: string | null) {
      await t.app.flushLogs();
      const [row] = await rows<{ c: string; i: number; o: number }>(
        t,
        sql`select cost_micro_usd::text as c, input_tokens as i, output_tokens as o from request_logs where id = ${requestId}`,
      );
      return row!;
    },
    async close() {
      t.app.server.server.closeAllConnections();
      await t.close();
      await Promise.all([vertex.close(), instanceVertex.close(), tokens.close()]);
    },
  };
}

export type VertexSuite = Awaited<ReturnType<typeof startVertexSuite>>;
