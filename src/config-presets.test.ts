import { describe, expect, it } from "vitest";
import { presetsConfig } from "./config-presets.js";

describe("presetsConfig", () => {
  it("turns a hosted vendor on by its key (several keys: its credentials) and a server by its address", () => {
    expect(presetsConfig({})).toEqual({});
    expect(presetsConfig({ GROQ_API_KEY: "gsk_a, gsk_b", OLLAMA_BASE_URL: "http://gpu-box:11434/v1" })).toEqual({
      groq: { apiKeys: ["gsk_a", "gsk_b"], baseUrl: undefined },
      ollama: { apiKeys: [], baseUrl: "http://gpu-box:11434/v1" },
    });
    expect(presetsConfig({ XAI_API_KEY: "xai-1", XAI_BASE_URL: "https://proxy.example/v1" })).toEqual({
      xai: { apiKeys: ["xai-1"], baseUrl: "https://proxy.example/v1" },
    });
  });

  it("names the variable of a half-set preset", () => {
    expect(presetsConfig({ MISTRAL_BASE_URL: "https://api.mistral.ai/v1" })).toMatch(/^MISTRAL_API_KEY: /);
    expect(presetsConfig({ VLLM_API_KEY: "k" })).toMatch(/^VLLM_BASE_URL: /);
    expect(presetsConfig({ LMSTUDIO_BASE_URL: "localhost:1234" })).toMatch(/^LMSTUDIO_BASE_URL: must be an http/);
  });
});
