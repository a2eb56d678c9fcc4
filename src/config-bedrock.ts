/**
 * Amazon Bedrock's settings as Tollgate takes them, shared by the instance
 * config (AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and organizations' custom
 * providers: what a region and an access key id look like, and the public
 * Bedrock runtime endpoint of a region. Invariants:
 *  - a region is checked against AWS's region shape before it becomes part of
 *    a host name (`x.evil.example/` never reaches a URL);
 *  - an access key id is an identifier (shown as the provider's hint), never
 *    a secret: the secret access key and the session token are.
 * No imports: the config module reads this file, and it sits below everything.
 */

/** `us-east-1`, `eu-central-1`, `us-gov-west-1`, `ap-southeast-2`. */
export const BEDROCK_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** AWS access key ids: `AKIA…` (an IAM user's) or `ASIA…` (STS temporary credentials), 16 to 128 characters. */
export const AWS_ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

export function isBedrockRegion(region: string): boolean {
  return BEDROCK_REGION.test(region);
}

/** The public Bedrock runtime endpoint of a region. */
export function bedrockBaseUrl(region: string): string {
  if (!isBedrockRegion(region)) throw new Error(`"${region}" is not an AWS region name (e.g. us-east-1)`);
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

/** The built-in bedrock provider's settings: `apiKey` is the secret access key; all unset: not offered. */
export interface BedrockConfig {
  apiKey?: string;
  baseUrl?: string;
  region?: string;
  accessKeyId?: string;
  sessionToken?: string;
}

/**
 * Reads the standard AWS variables (AWS_REGION, else AWS_DEFAULT_REGION; AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and BEDROCK_BASE_URL. A region alone is no
 * Bedrock configuration (hosts on AWS set it for everything); a key without its secret, a
 * secret without its key, credentials without a region, a session token or a base URL
 * without credentials are half-set: the message names what is missing.
 */
export function bedrockConfig(env: Record<string, string | undefined>): BedrockConfig | string {
  const v = (name: string) => env[name]?.trim() || undefined;
  const region = v("AWS_REGION") ?? v("AWS_DEFAULT_REGION");
  const accessKeyId = v("AWS_ACCESS_KEY_ID");
  const apiKey = v("AWS_SECRET_ACCESS_KEY");
  const sessionToken = v("AWS_SESSION_TOKEN");
  const baseUrl = v("BEDROCK_BASE_URL");
  if (!accessKeyId && !apiKey && !sessionToken && !baseUrl) return {};
  const need = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (an IAM user's access key, or STS credentials)";
  if (!accessKeyId && !apiKey) return `${sessionToken ? "AWS_SESSION_TOKEN" : "BEDROCK_BASE_URL"} is set: set ${need}`;
  if (!accessKeyId) return "AWS_ACCESS_KEY_ID: set the access key id of AWS_SECRET_ACCESS_KEY (e.g. AKIA…)";
  if (!apiKey) return "AWS_SECRET_ACCESS_KEY: set the secret access key of AWS_ACCESS_KEY_ID";
  if (!AWS_ACCESS_KEY_ID.test(accessKeyId))
    return "AWS_ACCESS_KEY_ID: an access key id is 16 to 128 capital letters and digits (e.g. AKIA…)";
  if (!region) return "AWS_REGION: set the region of the Bedrock runtime (e.g. us-east-1)";
  if (!isBedrockRegion(region)) return `AWS_REGION: "${region}" is not an AWS region name (e.g. us-east-1)`;
  if (baseUrl && !URL.canParse(baseUrl))
    return "BEDROCK_BASE_URL: must be a URL, e.g. a VPC endpoint https://vpce-….bedrock-runtime.us-east-1.vpce.amazonaws.com";
  if (baseUrl && !/^https?:$/.test(new URL(baseUrl).protocol)) return "BEDROCK_BASE_URL: must be an http(s) URL";
  return { apiKey, accessKeyId, region, ...(sessionToken ? { sessionToken } : {}), ...(baseUrl ? { baseUrl } : {}) };
}
