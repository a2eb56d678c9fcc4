/**
 * The Google Vertex AI settings of an organization's custom provider (format
 * "vertex"): the project and location (in the row's `settings`, with the token
 * URL when it is not Google's), the service account key (sealed as the
 * provider's credential, like any API key; its client_email is the hint), and
 * the base URL (the location's endpoint unless one is given). Invariants:
 *  - only a vertex provider has these settings; sending them with another
 *    format is refused, and a vertex provider takes no `apiKey`;
 *  - the key is a service account key (config-vertex.ts), stored with only the
 *    fields the token exchange uses, and never shown;
 *  - the token URL, given or the key's own `token_uri`, passes the base URL's
 *    SSRF rules at save time (the guarded dispatcher re-checks it at connect);
 *  - a base URL left to its default follows the location when it changes;
 *  - a provider that leaves the format drops the key (the service clears it).
 */
import { keyJson, parseServiceAccountKey, VERTEX_DEFAULT_LOCATION, vertexBaseUrl } from "../../config-vertex.js";
import type { VertexSettings } from "../../gateway/providers/types.js";
import { appError } from "../../platform/errors.js";
import type { CredentialPlan, ProviderSettings, StoredProviderBase } from "./providers.schema.js";

export interface VertexInput {
  project?: string;
  location?: string;
  serviceAccountJson?: string;
  tokenUrl?: string;
  apiKey?: string;
  baseUrl?: string;
}

/** Checks a URL with the base URL's SSRF rules; `what` names it in the message. */
type CheckUrl = (url: string, what?: "token") => string;

/**
 * The vertex plan of a provider being created or updated (`current`), or null when its format is not
 * vertex (after refusing vertex settings sent with another format).
 */
export function vertexProvider(input: VertexInput, format: string, checkUrl: CheckUrl, current?: StoredProviderBase) {
  if (format !== "vertex") {
    const sent = [input.project, input.location, input.serviceAccountJson, input.tokenUrl];
    if (sent.some((v) => v !== undefined)) throw appError("VERTEX_SETTINGS_FORMAT");
    return null;
  }
  if (input.apiKey) throw appError("VERTEX_API_KEY_UNUSED");
  const was = current?.format === "vertex" ? current : undefined;
  const project = input.project ?? was?.settings.project;
  if (!project) throw appError("VERTEX_PROJECT_REQUIRED");
  const location = input.location ?? was?.settings.location ?? VERTEX_DEFAULT_LOCATION;

  let key: CredentialPlan["key"];
  let keyTokenUri: string | undefined;
  if (input.serviceAccountJson !== undefined) {
    const parsed = parseServiceAccountKey(input.serviceAccountJson);
    if (typeof parsed === "string") throw appError("VERTEX_KEY_INVALID", `The service account key: ${parsed}.`);
    key = { json: keyJson(parsed), hint: parsed.clientEmail };
    keyTokenUri = parsed.tokenUri;
  } else if (!was) throw appError("VERTEX_KEY_REQUIRED");

  let tokenUrl = was?.settings.tokenUrl;
  if (input.tokenUrl !== undefined) tokenUrl = input.tokenUrl.trim() ? checkUrl(input.tokenUrl, "token") : undefined;
  if (!tokenUrl && keyTokenUri) checkUrl(keyTokenUri, "token");

  // A base URL of its own is kept; the default one follows the location.
  const keptBase = was && was.baseUrl !== vertexBaseUrl(was.settings.location ?? VERTEX_DEFAULT_LOCATION);
  const baseUrl = input.baseUrl?.trim()
    ? checkUrl(input.baseUrl)
    : input.baseUrl === undefined && keptBase
      ? was.baseUrl
      : checkUrl(vertexBaseUrl(location));

  const settings: ProviderSettings = { project, location, ...(tokenUrl ? { tokenUrl } : {}) };
  const plan: CredentialPlan = { settings, baseUrl, ...(key ? { key } : {}) };
  return plan;
}

/** The settings the gateway routes a vertex provider with (undefined for the other formats). */
export function vertexSettings(format: string, s: ProviderSettings): VertexSettings | undefined {
  if (format !== "vertex" || !s.project) return undefined;
  return {
    project: s.project,
    location: s.location ?? VERTEX_DEFAULT_LOCATION,
    ...(s.tokenUrl ? { tokenUrl: s.tokenUrl } : {}),
  };
}
