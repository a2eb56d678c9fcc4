/**
 * AWS Signature Version 4 of a Bedrock runtime request, by the AWS SDK's own
 * signer (@smithy/signature-v4 with @aws-crypto/sha256-js). Invariants:
 * - The service is `bedrock`, the region the target's; the payload hash covers
 *   the exact body bytes that go out (the body is signed as a Buffer and sent
 *   as that same Buffer).
 * - The path is signed as it goes on the wire (already label-encoded); the
 *   signer encodes it once more, as AWS expects of every service but S3.
 * - `host` is set explicitly to the URL's host so the signed value is the one
 *   undici sends; a session token goes out as `x-amz-security-token`, signed.
 * - The returned headers hold the Authorization header: they go to the
 *   transport and nowhere else (never into a message or a log).
 */
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { BedrockSettings } from "./settings.js";

export const BEDROCK_SERVICE = "bedrock";

export interface SignInput {
  url: string;
  /** Headers to send and sign (lower-case names); `host` is added. */
  headers: Record<string, string>;
  body: Buffer;
  settings: BedrockSettings;
  /** The signing time (default now). */
  now?: Date;
}

/** The request's headers with `host`, `x-amz-date`, `x-amz-content-sha256`, the token and `authorization`. */
export async function signRequest(p: SignInput): Promise<Record<string, string>> {
  const u = new URL(p.url);
  const s = p.settings;
  const signer = new SignatureV4({
    service: BEDROCK_SERVICE,
    region: s.region,
    sha256: Sha256,
    credentials: {
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}),
    },
  });
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: u.protocol,
      hostname: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
      path: u.pathname,
      query,
      headers: { ...p.headers, host: u.host },
      body: p.body,
    },
    { signingDate: p.now ?? new Date() },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (typeof v === "string") out[k.toLowerCase()] = v;
  return out;
}
