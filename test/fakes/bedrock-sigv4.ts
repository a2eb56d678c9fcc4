/**
 * Signature Version 4 verification the way AWS does it, for the Bedrock fake:
 * the signature of an incoming request is recomputed with the AWS SDK's own
 * signer (@smithy/signature-v4) from the fake's secret for the access key in
 * the Authorization header, over the headers the client listed as signed, the
 * path as it came on the wire and the body bytes as received (their real hash,
 * whatever `x-amz-content-sha256` claims), and compared with the one sent.
 * Refusals carry AWS's own exception types and messages: a missing or
 * malformed Authorization header, an unknown key or a wrong session token, a
 * scope with another region or service, a date more than 5 minutes off, and a
 * signature that differs (wrong secret, tampered body or headers).
 */
import { createHash } from "node:crypto";
import type http from "node:http";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

export interface FakeCredential {
  secretAccessKey: string;
  /** When set, requests with this key must carry it as `x-amz-security-token` (STS temporary credentials). */
  sessionToken?: string;
}

export interface SigV4Refusal {
  status: number;
  type: string;
  message: string;
}

const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const BAD_TOKEN = "The security token included in the request is invalid.";
const SKEW_MS = 5 * 60_000;

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(",") : v);

function parseAmzDate(s: string | undefined): Date | undefined {
  const m = s ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, se!));
}

const longDate = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

/** Null when the request is signed right for `service` in `region`; AWS's refusal otherwise. */
export async function verifySigV4(
  req: http.IncomingMessage,
  raw: Buffer,
  o: { region: string; service: string; credentials: Record<string, FakeCredential>; now?: Date },
): Promise<SigV4Refusal | null> {
  const auth = one(req.headers.authorization);
  if (!auth)
    return { status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" };
  const m = AUTH.exec(auth);
  if (!m)
    return {
      status: 403,
      type: "IncompleteSignatureException",
      message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${auth.split(" ")[0]}`,
    };
  const [, keyId, , region, service, signedList, signature] = m as unknown as string[];
  const cred = o.credentials[keyId!];
  if (!cred) return { status: 403, type: "UnrecognizedClientException", message: BAD_TOKEN };
  const token = one(req.headers["x-amz-security-token"]);
  if ((cred.sessionToken ?? undefined) !== token)
    return { status: 403, type: "UnrecognizedClientException", message: BAD_TOKEN };
  if (region !== o.region)
    return {
      status: 403,
      type: "InvalidSignatureException",
      message: "Credential should be scoped to a valid region. ",
    };
  if (service !== o.service)
    return {
      status: 403,
      type: "InvalidSignatureException",
      message: `Credential should be scoped to correct service: '${o.service}'. `,
    };
  const date = parseAmzDate(one(req.headers["x-amz-date"]));
  if (!date)
    return { status: 403, type: "IncompleteSignatureException", message: "Date must be in ISO-8601 'basic format'." };
  const now = o.now ?? new Date();
  if (date.getTime() < now.getTime() - SKEW_MS)
    return {
      status: 403,
      type: "InvalidSignatureException",
      message: `Signature expired: ${longDate(date)} is now earlier than ${longDate(new Date(now.getTime() - SKEW_MS))} (${longDate(now)} - 5 min.)`,
    };
  if (date.getTime() > now.getTime() + SKEW_MS)
    return {
      status: 403,
      type: "InvalidSignatureException",
      message: `Signature not yet current: ${longDate(date)} is still later than ${longDate(new Date(now.getTime() + SKEW_MS))} (${longDate(now)} + 5 min.)`,
    };

  const signed = signedList!.split(";");
  if (!signed.includes("host"))
    return {
      status: 403,
      type: "InvalidSignatureException",
      message: "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    };
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = one(req.headers[name]);
    if (v === undefined) return { status: 403, type: "InvalidSignatureException", message: MISMATCH };
    headers[name] = v;
  }
  // AWS hashes the payload it received: a claimed hash that differs makes the signature differ.
  if (headers["x-amz-content-sha256"] !== undefined)
    headers["x-amz-content-sha256"] = createHash("sha256").update(raw).digest("hex");
  const url = new URL(req.url ?? "/", "http://fake");
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service: o.service,
    region: o.region,
    sha256: Sha256,
    credentials: {
      accessKeyId: keyId!,
      secretAccessKey: cred.secretAccessKey,
      ...(cred.sessionToken ? { sessionToken: cred.sessionToken } : {}),
    },
  });
  const expected = await signer.sign(
    {
      method: req.method ?? "POST",
      protocol: "http:",
      hostname: url.hostname,
      path: url.pathname,
      query,
      headers,
      body: raw,
    },
    { signingDate: date, signableHeaders: new Set(signed) },
  );
  const got = /Signature=([0-9a-f]{64})$/.exec(String(expected.headers.authorization))?.[1];
  return got === signature ? null : { status: 403, type: "InvalidSignatureException", message: MISMATCH };
}
