/**
 * Several credentials per custom provider (two accounts of a vendor, an Azure
 * OpenAI resource per region): each with a weight, an optional
 * requests-per-minute limit and an optional endpoint of its own. Invariants:
 *  - keys live only in the sealed secret, under the credential's id; settings
 *    keep the id, a hint, the weight, the limit and the endpoint;
 *  - a stored credential is kept by sending its id without a key, so a
 *    weight changes without pasting keys again;
 *  - only the formats whose credential is an API key take several
 *    (OpenAI, Anthropic, Gemini, Azure OpenAI); a provider has either one
 *    `apiKey` or `credentials`, and sending one replaces the other;
 *  - each credential's endpoint passes the base URL's SSRF rules (and, for
 *    Azure OpenAI, its endpoint rule).
 */
import type { ProviderCredential } from "../../gateway/catalog.js";
import { newId } from "../../platform/crypto.js";
import { appError } from "../../platform/errors.js";
import { checkAzureEndpoint } from "./providers.azure.js";
import type { CredentialInput, CredentialMeta, ProviderSettings } from "./providers.schema.js";

const KEYED_FORMATS = new Set(["openai", "anthropic", "gemini", "azure"]);

/** A key's hint: its first 3 and last 4 characters (a short key: an ellipsis only). */
export const keyHint = (key: string) => (key.length > 8 ? `${key.slice(0, 3)}…${key.slice(-4)}` : "…");

/** The credentials a provider will have: their public part and their keys by id. */
export interface CredentialSet {
  meta: CredentialMeta[];
  keys: Record<string, string>;
}

/**
 * The credentials of a provider being created or updated. `current`: the stored set (update).
 * Returns the new set; null: the provider has one `apiKey` (sent, or a format that takes no
 * credentials); undefined: unchanged.
 */
export function planCredentials(
  input: { credentials?: CredentialInput[]; apiKey?: string },
  format: string,
  checkUrl: (url: string) => string,
  current?: CredentialSet,
): CredentialSet | null | undefined {
  if (input.credentials === undefined) {
    if (!KEYED_FORMATS.has(format) || input.apiKey !== undefined) return current ? null : undefined;
    return undefined;
  }
  if (!KEYED_FORMATS.has(format)) throw appError("CREDENTIALS_FORMAT");
  if (input.apiKey) throw appError("CREDENTIALS_AND_API_KEY");
  const meta: CredentialMeta[] = [];
  const keys: Record<string, string> = {};
  for (const c of input.credentials) {
    let id: string;
    if (c.id !== undefined) {
      if (!current?.keys[c.id] || meta.some((m) => m.id === c.id))
        throw appError(
          "CREDENTIAL_NOT_FOUND",
          `No stored credential "${c.id}" on this provider (or it is listed twice).`,
        );
      id = c.id;
    } else {
      if (!c.apiKey) throw appError("CREDENTIAL_KEY_REQUIRED");
      id = `cr_${newId().replace(/-/g, "").slice(0, 12)}`;
    }
    const key = c.apiKey ?? current!.keys[id]!;
    let baseUrl: string | undefined;
    if (c.baseUrl) {
      baseUrl = checkUrl(c.baseUrl);
      if (format === "azure") checkAzureEndpoint(baseUrl);
    }
    keys[id] = key;
    meta.push({
      id,
      hint: keyHint(key),
      weight: c.weight,
      ...(c.rpm !== undefined ? { rpm: c.rpm } : {}),
      ...(baseUrl ? { baseUrl } : {}),
    });
  }
  return { meta, keys };
}

/** The stored set of a provider (its settings and its opened secret's keys). */
export function storedCredentials(
  settings: ProviderSettings,
  keys: Record<string, string> | undefined,
): CredentialSet | undefined {
  return settings.credentials?.length ? { meta: settings.credentials, keys: keys ?? {} } : undefined;
}

/** The credentials the gateway routes with (undefined: the provider's one key). */
export function routedCredentials(set: CredentialSet | undefined): ProviderCredential[] | undefined {
  if (!set) return undefined;
  return set.meta.map((m) => ({
    id: m.id,
    apiKey: set.keys[m.id],
    weight: m.weight,
    ...(m.rpm !== undefined ? { rpm: m.rpm } : {}),
    ...(m.baseUrl ? { baseUrl: m.baseUrl } : {}),
  }));
}

/** The credentials as the API shows them (never a key). */
export function credentialsOut(settings: ProviderSettings) {
  return settings.credentials?.length
    ? {
        credentials: settings.credentials.map((m) => ({
          id: m.id,
          hint: m.hint,
          weight: m.weight,
          rpm: m.rpm ?? null,
          baseUrl: m.baseUrl ?? null,
        })),
      }
    : {};
}
