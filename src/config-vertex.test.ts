/**
 * The Vertex AI settings of the built-in provider (GOOGLE_VERTEX_*,
 * GOOGLE_APPLICATION_CREDENTIALS) and the service account key check shared
 * with organizations' providers: only a service account key is accepted, a
 * half-configured Vertex stops start-up naming the variable, and the
 * credentials variable is not read without a project.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { parseServiceAccountKey, vertexBaseUrl } from "./config-vertex.js";

const PEM =
  "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n";
const KEY = {
  type: "service_account",
  project_id: "p1",
  private_key_id: "abc",
  private_key: PEM,
  client_email: "gw@p1.iam.gserviceaccount.com",
  client_id: "1",
  token_uri: "https://oauth2.googleapis.com/token",
};

describe("Vertex AI settings", () => {
  it("accepts only a service account key, keeping the fields the token exchange uses", () => {
    expect(parseServiceAccountKey(JSON.stringify(KEY))).toEqual({
      clientEmail: KEY.client_email,
      privateKey: PEM.trim(),
      privateKeyId: "abc",
      tokenUri: KEY.token_uri,
      projectId: "p1",
    });
    expect(parseServiceAccountKey("{not json")).toMatch(/not JSON/);
    expect(parseServiceAccountKey(JSON.stringify({ ...KEY, type: "external_account" }))).toMatch(/"external_account"/);
    expect(parseServiceAccountKey(JSON.stringify({ ...KEY, client_email: undefined }))).toMatch(/client_email/);
    expect(parseServiceAccountKey(JSON.stringify({ ...KEY, private_key: "secret" }))).toMatch(/private_key/);
    expect(vertexBaseUrl("us-east5")).toBe("https://us-east5-aiplatform.googleapis.com");
    expect(vertexBaseUrl("global")).toBe("https://aiplatform.googleapis.com");
  });

  it("reads the key file once a project is set; a half-configured Vertex stops start-up naming the variable", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-vertex-config-"));
    const file = path.join(dir, "key.json");
    writeFileSync(file, JSON.stringify(KEY));
    const env = { TOLLGATE_SECRET: "x".repeat(32) };
    const ok = loadConfig({ ...env, GOOGLE_VERTEX_PROJECT: "p1", GOOGLE_APPLICATION_CREDENTIALS: file });
    expect(ok.providers.vertex).toMatchObject({ project: "p1", location: "global" });
    expect(JSON.parse(ok.providers.vertex.apiKey!)).toMatchObject({ client_email: KEY.client_email });
    expect(JSON.parse(ok.providers.vertex.apiKey!)).not.toHaveProperty("client_id");
    // The standard variable may serve something else: without a project it is not read.
    expect(
      loadConfig({ ...env, GOOGLE_APPLICATION_CREDENTIALS: "/nonexistent" }).providers.vertex.apiKey,
    ).toBeUndefined();
    expect(() => loadConfig({ ...env, GOOGLE_VERTEX_PROJECT: "p1" })).toThrow(/GOOGLE_APPLICATION_CREDENTIALS/);
    expect(() =>
      loadConfig({ ...env, GOOGLE_VERTEX_PROJECT: "p1", GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, "none") }),
    ).toThrow(/GOOGLE_APPLICATION_CREDENTIALS: cannot read/);
    writeFileSync(file, JSON.stringify({ ...KEY, type: "authorized_user" }));
    expect(() => loadConfig({ ...env, GOOGLE_VERTEX_PROJECT: "p1", GOOGLE_APPLICATION_CREDENTIALS: file })).toThrow(
      /service account/,
    );
    expect(() => loadConfig({ ...env, GOOGLE_VERTEX_PROJECT: "p1", GOOGLE_VERTEX_LOCATION: "us central" })).toThrow(
      /GOOGLE_VERTEX_LOCATION/,
    );
  });
});
