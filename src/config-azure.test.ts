/**
 * The AZURE_OPENAI_* settings of the built-in Azure OpenAI provider: the
 * `model=deployment` list, the API version, and a half-configured Azure that
 * stops start-up with a message naming the variable.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";
import { parseDeploymentList } from "./config-azure.js";

describe("Azure OpenAI settings", () => {
  it("reads model=deployment lists; a model alone is its own deployment", () => {
    expect(parseDeploymentList("")).toEqual({});
    expect(parseDeploymentList("gpt-4o=my-gpt4o, text-embedding-3-small")).toEqual({
      "gpt-4o": "my-gpt4o",
      "text-embedding-3-small": "text-embedding-3-small",
    });
    expect(parseDeploymentList("gpt-4o=a,gpt-4o=b")).toMatch(/listed twice/);
    expect(parseDeploymentList("gpt-4o=")).toMatch(/deployment name/);
  });

  it("AZURE_OPENAI_* are parsed, and a half-configured Azure stops start-up naming the variable", () => {
    const env = { TOLLGATE_SECRET: "x".repeat(32), AZURE_OPENAI_ENDPOINT: "https://r.openai.azure.com" };
    const ok = loadConfig({
      ...env,
      AZURE_OPENAI_API_KEY: "k",
      AZURE_OPENAI_DEPLOYMENTS: " gpt-4o=my-gpt4o, o3-mini ",
    });
    expect(ok.providers.azure).toEqual({
      apiKey: "k",
      baseUrl: "https://r.openai.azure.com",
      apiVersion: "2024-10-21",
      deployments: { "gpt-4o": "my-gpt4o", "o3-mini": "o3-mini" },
    });
    expect(() => loadConfig({ ...env, AZURE_OPENAI_DEPLOYMENTS: "gpt-4o=d" })).toThrow(/AZURE_OPENAI_API_KEY/);
    expect(() => loadConfig({ ...env, AZURE_OPENAI_API_KEY: "k" })).toThrow(/AZURE_OPENAI_DEPLOYMENTS/);
    expect(() =>
      loadConfig({ ...env, AZURE_OPENAI_API_KEY: "k", AZURE_OPENAI_DEPLOYMENTS: "gpt-4o=bad name" }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({
        ...env,
        AZURE_OPENAI_API_KEY: "k",
        AZURE_OPENAI_DEPLOYMENTS: "a=b",
        AZURE_OPENAI_API_VERSION: "v1",
      }),
    ).toThrow(/AZURE_OPENAI_API_VERSION/);
    expect(() =>
      loadConfig({
        ...env,
        AZURE_OPENAI_ENDPOINT:
          "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
        AZURE_OPENAI_API_KEY: "k",
        AZURE_OPENAI_DEPLOYMENTS: "gpt-4o=d",
      }),
    ).toThrow(/AZURE_OPENAI_ENDPOINT: only the resource's endpoint/);
  });
});
