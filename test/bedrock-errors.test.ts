/**
 * Bedrock's errors through the adapter, as the client would see them
 * (errors.ts fromUpstream): throttling, validation, not found, unavailable,
 * model not ready; SigV4 refusals by the fake's AWS-faithful check (a wrong
 * secret, another region, a clock more than 5 minutes off, a body changed
 * after signing) classified as auth with no secret in any message; and
 * temporary credentials whose session token is sent and signed.
 */
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { fromUpstream } from "../src/gateway/errors.js";
import {
  type BedrockSettings,
  bedrockBaseUrl,
  createBedrockAdapter,
  isBedrockRegion,
} from "../src/gateway/providers/bedrock/index.js";
import { signRequest } from "../src/gateway/providers/bedrock/signing.js";
import { BEDROCK_ERRORS } from "./fakes/bedrock-fake.js";
import {
  CLAUDE,
  failure,
  KEY_ID,
  REGION,
  SECRET,
  TEMP_KEY_ID,
  TEMP_SECRET,
  TOKEN,
  bedrockSetup,
} from "./helpers/bedrock.js";

const s = bedrockSetup();
const adapter = createBedrockAdapter();
const opts = () => s.opts();
const target: typeof s.target = (...a) => s.target(...a);

describe("Bedrock errors", () => {
  const chat = (t = target()) => adapter.chat({ model: "x", messages: [{ role: "user", content: "hi" }] }, t, opts());

  it("throttling is a retryable rate limit; validation and not-found are the request's fault; unavailable fails over", async () => {
    s.fake.failNext({ ...BEDROCK_ERRORS.throttling, retryAfter: "3" });
    const throttled = await failure(chat());
    expect(throttled).toMatchObject({
      kind: "http",
      status: 429,
      upstreamCode: "ThrottlingException",
      retryable: true,
      retryAfterMs: 3000,
    });
    expect(throttled.message).toBe(
      "bedrock returned HTTP 429 ThrottlingException: Too many requests, please wait before trying again.",
    );
    expect(fromUpstream(throttled, "aws")).toMatchObject({
      code: "upstream_rate_limited",
      headers: { "retry-after": "3" },
    });

    s.fake.failNext(BEDROCK_ERRORS.validation);
    const invalid = await failure(chat());
    expect(invalid).toMatchObject({ status: 400, upstreamCode: "ValidationException", retryable: false });
    expect(fromUpstream(invalid, "aws")).toMatchObject({ code: "upstream_rejected_request", status: 400 });

    s.fake.failNext(BEDROCK_ERRORS.notFound);
    const missing = await failure(chat());
    expect(missing).toMatchObject({ status: 404, upstreamCode: "ResourceNotFoundException", retryable: false });
    expect(fromUpstream(missing, "aws")).toMatchObject({ code: "upstream_rejected_request", status: 404 });

    const unknown = await failure(chat(target("anthropic.claude-nonexistent-v9:0")));
    expect(unknown.message).toBe(
      "bedrock returned HTTP 400 ValidationException: The provided model identifier is invalid.",
    );

    s.fake.failNext(BEDROCK_ERRORS.unavailable);
    const down = await failure(chat());
    expect(down).toMatchObject({ status: 503, upstreamCode: "ServiceUnavailableException", retryable: true });
    expect(fromUpstream(down, "aws").code).toBe("upstream_error");

    s.fake.failNext(BEDROCK_ERRORS.notReady);
    expect(await failure(chat())).toMatchObject({
      status: 429,
      upstreamCode: "ModelNotReadyException",
      retryable: true,
    });
  });

  it("a failed Titan call fails the whole embeddings request with its error", async () => {
    s.fake.failNext(BEDROCK_ERRORS.throttling);
    const e = await failure(
      adapter.embeddings!({ model: "x", input: ["a", "b", "c"] }, target("amazon.titan-embed-text-v2:0"), opts()),
    );
    expect(e).toMatchObject({ kind: "http", status: 429, upstreamCode: "ThrottlingException" });
  });

  it("a wrong secret is refused by the signature check: auth, and no secret in the message", async () => {
    const wrong = "WRONGsecretKEYwJalrXUtnFEMI/K7MDENG/bPxR";
    const e = await failure(chat(target(CLAUDE, { secretAccessKey: wrong })));
    expect(e).toMatchObject({ kind: "http", status: 403, upstreamCode: "InvalidSignatureException", retryable: false });
    expect(e.message).toMatch(
      /^bedrock returned HTTP 403 InvalidSignatureException: The request signature we calculated does not match/,
    );
    expect(fromUpstream(e, "aws").code).toBe("upstream_auth_failed");

    // An error text that echoes the secret and the token is scrubbed.
    s.fake.failNext({ status: 400, type: "ValidationException", message: `bad ${TEMP_SECRET} and ${TOKEN}` });
    const echoed = await failure(
      chat(target(CLAUDE, { accessKeyId: TEMP_KEY_ID, secretAccessKey: TEMP_SECRET, sessionToken: TOKEN })),
    );
    expect(echoed.message).not.toContain(TEMP_SECRET);
    expect(echoed.message).not.toContain(TOKEN);
    expect(echoed.message).toContain("[redacted]");
  });

  it("a signature for another region, or from a clock more than 5 minutes off, is refused as auth", async () => {
    const region = await failure(chat(target(CLAUDE, { region: "eu-west-1" })));
    expect(region).toMatchObject({ status: 403, upstreamCode: "InvalidSignatureException" });
    expect(region.message).toContain("Credential should be scoped to a valid region");

    const late = createBedrockAdapter({ now: () => new Date(Date.now() - 10 * 60_000) });
    const expired = await failure(
      late.chat({ model: "x", messages: [{ role: "user", content: "hi" }] }, target(), opts()),
    );
    expect(expired.message).toMatch(/InvalidSignatureException: Signature expired: \d{8}T\d{6}Z is now earlier than/);
    expect(fromUpstream(expired, "aws").code).toBe("upstream_auth_failed");
  });

  it("the fake refuses a body changed after signing (the signature covers the payload)", async () => {
    const url = `${s.fake.url}/model/${encodeURIComponent(CLAUDE)}/converse`;
    const body = Buffer.from(JSON.stringify({ messages: [{ role: "user", content: [{ text: "hi" }] }] }));
    const headers = await signRequest({
      url,
      headers: { "content-type": "application/json" },
      body,
      settings: { region: REGION, accessKeyId: KEY_ID, secretAccessKey: SECRET } satisfies BedrockSettings,
    });
    const send = (b: Buffer) => request(url, { method: "POST", headers, body: b, dispatcher: s.agent });
    const ok = await send(body);
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const tampered = await send(Buffer.from(body.toString().replace("hi", "ho")));
    expect(tampered.statusCode).toBe(403);
    expect(tampered.headers["x-amzn-errortype"]).toMatch(/^InvalidSignatureException:/);
    await tampered.body.dump();
  });

  it("temporary credentials send and sign their session token; without it the key is refused", async () => {
    const temp = { accessKeyId: TEMP_KEY_ID, secretAccessKey: TEMP_SECRET, sessionToken: TOKEN };
    const r = await chat(target(CLAUDE, temp));
    expect(r.kind).toBe("response");
    expect(s.fake.last().headers["x-amz-security-token"]).toBe(TOKEN);
    expect(String(s.fake.last().headers.authorization)).toContain("x-amz-security-token");

    const noToken = await failure(chat(target(CLAUDE, { ...temp, sessionToken: undefined })));
    expect(noToken).toMatchObject({ status: 403, upstreamCode: "UnrecognizedClientException" });
    expect(fromUpstream(noToken, "aws").code).toBe("upstream_auth_failed");
  });

  it("a target without credentials, or with a region that is not AWS's, is refused before any request goes out", async () => {
    expect(isBedrockRegion("us-gov-west-1")).toBe(true);
    expect(isBedrockRegion("evil.example.com/x")).toBe(false);
    expect(bedrockBaseUrl("eu-central-1")).toBe("https://bedrock-runtime.eu-central-1.amazonaws.com");
    expect(() => bedrockBaseUrl("evil.example.com/x")).toThrow(/not an AWS region/);
    const before = s.fake.requests.length;
    const bare = await failure(chat({ baseUrl: s.fake.url, model: CLAUDE }));
    expect(bare).toMatchObject({ kind: "protocol", retryable: false });
    expect(bare.message).toBe("bedrock: the provider has no AWS credentials configured");
    const region = await failure(chat(target(CLAUDE, { region: "evil.example.com/x" })));
    expect(region.message).toBe("bedrock: the provider has no valid AWS region configured");
    expect(s.fake.requests.length).toBe(before);
  });
});
