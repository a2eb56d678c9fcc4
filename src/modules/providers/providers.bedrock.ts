/**
 * The Amazon Bedrock settings of an organization's custom provider (format
 * "bedrock"): the region and the access key id (in the row's `settings`, shown),
 * the secret access key and an STS session token (sealed as the provider's
 * credential, like any API key, and never shown; the access key id is the
 * hint), and the base URL (the region's Bedrock runtime endpoint unless one is
 * given, e.g. a VPC endpoint). Invariants:
 *  - only a bedrock provider has these settings; sending them with another
 *    format is refused, and a bedrock provider takes no `apiKey`;
 *  - credentials are replaced whole: the access key id and the secret access
 *    key together (with the session token, for temporary credentials), so a
 *    new key id never pairs with an old secret;
 *  - the base URL, given or the region's, passes the SSRF rules of every
 *    custom provider URL; a base URL left to its default follows the region;
 *  - a provider that leaves the format drops the credential (the service clears it).
 */
import { bedrockBaseUrl } from "../../config-bedrock.js";
import type { BedrockSettings } from "../../gateway/providers/types.js";
import { appError } from "../../platform/errors.js";
import type { CredentialPlan, ProviderSettings, StoredProviderBase } from "./providers.schema.js";

export interface BedrockInput {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  apiKey?: string;
  baseUrl?: string;
}

/** The sealed part of a bedrock provider's credentials. */
interface SealedCredential {
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * The bedrock plan of a provider being created or updated (`current`), or null when its format is not
 * bedrock (after refusing Bedrock settings sent with another format).
 */
export function bedrockProvider(
  input: BedrockInput,
  format: string,
  checkUrl: (url: string) => string,
  current?: StoredProviderBase,
): CredentialPlan | null {
  const credentials = [input.accessKeyId, input.secretAccessKey, input.sessionToken];
  if (format !== "bedrock") {
    if ([input.region, ...credentials].some((v) => v !== undefined)) throw appError("BEDROCK_SETTINGS_FORMAT");
    return null;
  }
  if (input.apiKey) throw appError("BEDROCK_API_KEY_UNUSED");
  const was = current?.format === "bedrock" ? current : undefined;
  const region = input.region ?? was?.settings.region;
  if (!region) throw appError("BEDROCK_REGION_REQUIRED");

  let key: CredentialPlan["key"];
  let accessKeyId = was?.settings.accessKeyId;
  if (credentials.some((v) => v !== undefined) || !was) {
    if (!input.accessKeyId || !input.secretAccessKey) throw appError("BEDROCK_CREDENTIALS_REQUIRED");
    accessKeyId = input.accessKeyId;
    const sealed: SealedCredential = {
      secretAccessKey: input.secretAccessKey,
      ...(input.sessionToken ? { sessionToken: input.sessionToken } : {}),
    };
    key = { json: JSON.stringify(sealed), hint: accessKeyId };
  }

  // A base URL of its own (a VPC endpoint) is kept; the default one follows the region.
  const keptBase = was?.settings.region && was.baseUrl !== bedrockBaseUrl(was.settings.region);
  const baseUrl = input.baseUrl?.trim()
    ? checkUrl(input.baseUrl)
    : input.baseUrl === undefined && keptBase
      ? was.baseUrl
      : checkUrl(bedrockBaseUrl(region));

  return { settings: { region, accessKeyId }, baseUrl, ...(key ? { key } : {}) };
}

/** What a bedrock provider shows of its settings (the secret and the session token never). */
export function bedrockOut(format: string, s: ProviderSettings): { region: string; accessKeyId: string } | undefined {
  if (format !== "bedrock" || !s.region || !s.accessKeyId) return undefined;
  return { region: s.region, accessKeyId: s.accessKeyId };
}

/**
 * The settings the gateway signs a bedrock provider's requests with, from its stored settings and its
 * unsealed credential (undefined for the other formats). A credential that does not read leaves the
 * secret empty: the adapter then refuses to call, naming the missing credentials.
 */
export function bedrockSettings(format: string, s: ProviderSettings, sealed: string): BedrockSettings | undefined {
  const shown = bedrockOut(format, s);
  if (!shown) return undefined;
  let c: Partial<SealedCredential> = {};
  try {
    c = JSON.parse(sealed) as Partial<SealedCredential>;
  } catch {
    // Not a Bedrock credential (a row whose format changed outside the service).
  }
  return {
    ...shown,
    secretAccessKey: typeof c.secretAccessKey === "string" ? c.secretAccessKey : "",
    ...(typeof c.sessionToken === "string" && c.sessionToken ? { sessionToken: c.sessionToken } : {}),
  };
}
