/**
 * The standard AWS_* variables of the built-in Amazon Bedrock provider: read
 * whole (AWS_REGION before AWS_DEFAULT_REGION, the session token, a base URL
 * of its own), a region alone is no Bedrock configuration, and a half-set one
 * stops start-up with a message naming what is missing.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";
import { bedrockBaseUrl } from "./config-bedrock.js";

const base = { TOLLGATE_SECRET: "x".repeat(32) };
const keys = {
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const problem = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join("\n");
    throw e;
  }
  return null;
};

describe("Amazon Bedrock settings", () => {
  it("reads the AWS variables: region, key id, secret, session token and a base URL of its own", () => {
    expect(loadConfig({ ...base, AWS_REGION: "eu-west-1", ...keys }).providers.bedrock).toEqual({
      region: "eu-west-1",
      accessKeyId: keys.AWS_ACCESS_KEY_ID,
      apiKey: keys.AWS_SECRET_ACCESS_KEY,
    });
    const temporary = loadConfig({
      ...base,
      AWS_DEFAULT_REGION: "us-west-2",
      ...keys,
      AWS_SESSION_TOKEN: "token",
      BEDROCK_BASE_URL: "https://vpce-1.bedrock-runtime.us-west-2.vpce.amazonaws.com",
    }).providers.bedrock;
    expect(temporary).toMatchObject({ region: "us-west-2", sessionToken: "token" });
    expect(temporary.baseUrl).toBe("https://vpce-1.bedrock-runtime.us-west-2.vpce.amazonaws.com");
    // A region alone (hosts on AWS set it for every program) offers nothing and stops nothing.
    expect(loadConfig({ ...base, AWS_REGION: "us-east-1" }).providers.bedrock).toEqual({});
    expect(bedrockBaseUrl("ap-southeast-2")).toBe("https://bedrock-runtime.ap-southeast-2.amazonaws.com");
  });

  it("a half-set configuration stops start-up naming what is missing", () => {
    expect(problem({ ...keys })).toMatch(/^AWS_REGION: set the region/);
    expect(problem({ AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: keys.AWS_ACCESS_KEY_ID })).toMatch(
      /^AWS_SECRET_ACCESS_KEY:/,
    );
    expect(problem({ AWS_REGION: "us-east-1", AWS_SECRET_ACCESS_KEY: "s" })).toMatch(/^AWS_ACCESS_KEY_ID:/);
    expect(problem({ AWS_SESSION_TOKEN: "t" })).toMatch(/^AWS_SESSION_TOKEN is set: set AWS_ACCESS_KEY_ID/);
    expect(problem({ BEDROCK_BASE_URL: "http://127.0.0.1:9" })).toMatch(/^BEDROCK_BASE_URL is set/);
    expect(problem({ AWS_REGION: "us-east-1.evil.example/", ...keys })).toMatch(/not an AWS region name/);
    expect(problem({ AWS_REGION: "us-east-1", ...keys, AWS_ACCESS_KEY_ID: "akia lower" })).toMatch(
      /^AWS_ACCESS_KEY_ID: an access key id/,
    );
    expect(problem({ AWS_REGION: "us-east-1", ...keys, BEDROCK_BASE_URL: "ftp://x" })).toMatch(/^BEDROCK_BASE_URL:/);
  });
});
