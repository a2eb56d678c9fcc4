/**
 * Google Vertex AI's settings as Tollgate takes them, shared by the instance
 * config (GOOGLE_VERTEX_*, GOOGLE_APPLICATION_CREDENTIALS) and organizations'
 * custom providers: what a project id and a location look like, the endpoint
 * of a location, Google's token endpoint, and the service account key file.
 * Invariants:
 *  - a key is accepted only as a service account key (`type: "service_account"`
 *    with client_email and a PEM private key): other credential types (external
 *    accounts, authorized users) could make the auth library run commands or
 *    reach other hosts, so they are refused before any library sees them;
 *  - only the fields the token exchange needs are kept (see `keyJson`).
 * No imports but node's: the config module reads this file, and it sits below everything.
 */
import { readFileSync } from "node:fs";

/** Google's OAuth 2.0 token endpoint (the audience of a service account's signed assertion). */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** The location used when GOOGLE_VERTEX_LOCATION is not set (the global endpoint serves most models). */
export const VERTEX_DEFAULT_LOCATION = "global";

/** A project id (`my-project-123`), a project number, or a domain-scoped id (`example.com:my-project`). */
export const VERTEX_PROJECT = /^[a-z0-9][a-z0-9.:-]{0,99}$/;

/** A Vertex AI location: `us-central1`, `europe-west4`, `global`. */
export const VERTEX_LOCATION = /^[a-z][a-z0-9-]{1,39}$/;

/** The Vertex AI endpoint of a location: regional, or the global one. */
export function vertexBaseUrl(location: string): string {
  return location === "global" ? "https://aiplatform.googleapis.com" : `https://${location}-aiplatform.googleapis.com`;
}

/** The parts of a service account key Tollgate uses. */
export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  privateKeyId?: string;
  /** The key file's own token endpoint (Google's, in keys Google issues). */
  tokenUri?: string;
  projectId?: string;
}

/** Parses a service account's JSON key; returns the key, or a message saying what is wrong (never the key). */
export function parseServiceAccountKey(json: string): ServiceAccountKey | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return "the service account key is not JSON (paste the whole key file)";
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return "the service account key is not a JSON object";
  const k = raw as Record<string, unknown>;
  if (k.type !== "service_account")
    return `the key's type is ${typeof k.type === "string" ? `"${k.type.slice(0, 40)}"` : "missing"}: use a service account's JSON key (type "service_account")`;
  const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
  const clientEmail = str(k.client_email);
  if (!clientEmail || clientEmail.length > 320 || !/^[^\s@]+@[^\s@]+$/.test(clientEmail))
    return "the key has no client_email";
  const privateKey = str(k.private_key);
  if (!privateKey || !/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----END (RSA )?PRIVATE KEY-----$/.test(privateKey))
    return "the key has no PEM private_key";
  const out: ServiceAccountKey = { clientEmail, privateKey };
  const privateKeyId = str(k.private_key_id);
  if (privateKeyId) out.privateKeyId = privateKeyId;
  const tokenUri = str(k.token_uri);
  if (tokenUri) out.tokenUri = tokenUri;
  const projectId = str(k.project_id);
  if (projectId) out.projectId = projectId;
  return out;
}

/** The key as Tollgate stores it: the service account key file's fields it uses, nothing else. */
export function keyJson(k: ServiceAccountKey): string {
  return JSON.stringify({
    type: "service_account",
    ...(k.projectId ? { project_id: k.projectId } : {}),
    ...(k.privateKeyId ? { private_key_id: k.privateKeyId } : {}),
    private_key: k.privateKey,
    client_email: k.clientEmail,
    ...(k.tokenUri ? { token_uri: k.tokenUri } : {}),
  });
}

/** The built-in Vertex AI provider's settings: `apiKey` is the service account key (JSON, the fields Tollgate uses). */
export interface VertexConfig {
  apiKey?: string;
  baseUrl?: string;
  project?: string;
  location: string;
}

/**
 * The built-in Vertex AI provider: GOOGLE_VERTEX_PROJECT and the key file GOOGLE_APPLICATION_CREDENTIALS names.
 * Without a project, the (standard, possibly unrelated) credentials variable is not read.
 */
export function vertexConfig(e: {
  GOOGLE_VERTEX_PROJECT?: string;
  GOOGLE_VERTEX_LOCATION: string;
  GOOGLE_VERTEX_BASE_URL?: string;
  GOOGLE_APPLICATION_CREDENTIALS?: string;
}): VertexConfig | string {
  const base = { baseUrl: e.GOOGLE_VERTEX_BASE_URL, location: e.GOOGLE_VERTEX_LOCATION };
  if (!e.GOOGLE_VERTEX_PROJECT) return base;
  const file = e.GOOGLE_APPLICATION_CREDENTIALS?.trim();
  if (!file)
    return "GOOGLE_APPLICATION_CREDENTIALS: set the path of the service account's JSON key file (GOOGLE_VERTEX_PROJECT is set)";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return `GOOGLE_APPLICATION_CREDENTIALS: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`;
  }
  const key = parseServiceAccountKey(text);
  if (typeof key === "string") return `GOOGLE_APPLICATION_CREDENTIALS: ${key}`;
  return { ...base, project: e.GOOGLE_VERTEX_PROJECT, apiKey: keyJson(key) };
}
