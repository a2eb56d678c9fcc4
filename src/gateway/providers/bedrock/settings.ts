/**
 * Where a Bedrock call goes and with which AWS credentials. Invariants:
 * - A Bedrock target is an UpstreamTarget plus `bedrock` settings (region and
 *   credentials); the secret key and session token live only there, never in
 *   `apiKey`, headers or URLs.
 * - The region is checked against AWS's region shape before it becomes part of
 *   a host name (a region such as `x.evil.example/` never reaches a URL).
 * - Model ids (`anthropic.claude-…-v1:0`, inference profile ids and ARNs) are
 *   path-encoded as the AWS SDK encodes them: encodeURIComponent plus `!'()*`.
 */
import { bedrockBaseUrl, isBedrockRegion } from "../../../config-bedrock.js";
import { type BedrockSettings, UpstreamError, type UpstreamTarget } from "../types.js";

export { bedrockBaseUrl, isBedrockRegion } from "../../../config-bedrock.js";
export type { BedrockSettings } from "../types.js";

/** What an operator or an organization configures for a Bedrock provider. */
export interface BedrockTarget extends BedrockSettings {
  /** Default `https://bedrock-runtime.<region>.amazonaws.com` (a VPC endpoint or a test fake otherwise). */
  baseUrl?: string;
}

/** An UpstreamTarget, which carries Bedrock settings in `bedrock`. */
export type BedrockUpstreamTarget = UpstreamTarget;

/** The UpstreamTarget of a Bedrock configuration for one model. */
export function bedrockTarget(t: BedrockTarget, model: string): BedrockUpstreamTarget {
  const { baseUrl, ...bedrock } = t;
  return {
    baseUrl: baseUrl || bedrockBaseUrl(t.region),
    model,
    bedrock: {
      region: bedrock.region,
      accessKeyId: bedrock.accessKeyId,
      secretAccessKey: bedrock.secretAccessKey,
      ...(bedrock.sessionToken ? { sessionToken: bedrock.sessionToken } : {}),
    },
  };
}

/** The settings of a target, or an error naming what is missing (configuration, so never retried). */
export function settingsOf(target: UpstreamTarget): BedrockSettings {
  const s = target.bedrock;
  if (!s?.accessKeyId || !s.secretAccessKey)
    throw new UpstreamError("protocol", "bedrock: the provider has no AWS credentials configured", {
      retryable: false,
    });
  if (!isBedrockRegion(s.region))
    throw new UpstreamError("protocol", "bedrock: the provider has no valid AWS region configured", {
      retryable: false,
    });
  return s;
}

/** A path segment encoded as the AWS SDK encodes labels (RFC 3986: `!'()*` too). */
export function encodeLabel(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `/model/{modelId}/{action}` under the target's base URL. */
export function modelUrl(target: UpstreamTarget, action: "converse" | "converse-stream" | "invoke"): string {
  const base = (target.baseUrl || bedrockBaseUrl(settingsOf(target).region)).replace(/\/+$/, "");
  return `${base}/model/${encodeLabel(target.model)}/${action}`;
}

/** The secrets to scrub from any text that reaches a message. */
export function secretsOf(s: BedrockSettings): string[] {
  return [s.secretAccessKey, ...(s.sessionToken ? [s.sessionToken] : [])];
}
