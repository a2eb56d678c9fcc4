/**
 * Presets: the OpenAI-compatible vendors an organization adds by choosing one
 * and pasting a key, and the operator turns on with one variable. A preset is
 * facts, not code: the vendor's base URL, whether its `/models` lists what it
 * serves, the price library's provider id its models are priced as, and
 * whether it runs on the team's own hardware (then a model the library does
 * not know costs nothing). Every preset speaks the OpenAI wire format.
 *
 * Instance-wide, `<PREFIX>_API_KEY` (a hosted vendor) or `<PREFIX>_BASE_URL`
 * (a self-hosted server) offers the preset as a built-in provider whose slug
 * is the preset's id; `<PREFIX>_API_KEY` may list several keys separated by
 * commas (the provider's credentials, equally weighted).
 * No imports: the config module reads this file, and it sits below everything.
 */

export interface ProviderPreset {
  /** The preset's id: the built-in provider's slug, and a custom provider's default slug. */
  id: string;
  name: string;
  /** The vendor's OpenAI-compatible API root (a self-hosted server's usual local address). */
  baseUrl: string;
  /** The price library's provider id (absent: the library prices none of its models). */
  pricedAs?: string;
  /** Runs on the team's own hardware: no key needed, and a model nothing prices costs nothing. */
  selfHosted: boolean;
  /** The instance variables' prefix: `<envPrefix>_API_KEY`, `<envPrefix>_BASE_URL`. */
  envPrefix: string;
  /** Where the vendor's keys are made (shown beside the key field). */
  keysUrl?: string;
}

export const PROVIDER_PRESETS: readonly ProviderPreset[] = [
  {
    id: "openrouter",
    name: "OpenRouter",
    baseUrl: "https://openrouter.ai/api/v1",
    pricedAs: "openrouter",
    selfHosted: false,
    envPrefix: "OPENROUTER",
    keysUrl: "https://openrouter.ai/settings/keys",
  },
  {
    id: "groq",
    name: "Groq",
    baseUrl: "https://api.groq.com/openai/v1",
    pricedAs: "groq",
    selfHosted: false,
    envPrefix: "GROQ",
    keysUrl: "https://console.groq.com/keys",
  },
  {
    id: "mistral",
    name: "Mistral AI",
    baseUrl: "https://api.mistral.ai/v1",
    pricedAs: "mistral",
    selfHosted: false,
    envPrefix: "MISTRAL",
    keysUrl: "https://console.mistral.ai/api-keys",
  },
  {
    id: "deepseek",
    name: "DeepSeek",
    baseUrl: "https://api.deepseek.com/v1",
    pricedAs: "deepseek",
    selfHosted: false,
    envPrefix: "DEEPSEEK",
    keysUrl: "https://platform.deepseek.com/api_keys",
  },
  {
    id: "xai",
    name: "xAI",
    baseUrl: "https://api.x.ai/v1",
    pricedAs: "x-ai",
    selfHosted: false,
    envPrefix: "XAI",
    keysUrl: "https://console.x.ai",
  },
  {
    id: "together",
    name: "Together AI",
    baseUrl: "https://api.together.xyz/v1",
    pricedAs: "together",
    selfHosted: false,
    envPrefix: "TOGETHER",
    keysUrl: "https://api.together.ai/settings/api-keys",
  },
  {
    id: "fireworks",
    name: "Fireworks AI",
    baseUrl: "https://api.fireworks.ai/inference/v1",
    pricedAs: "fireworks",
    selfHosted: false,
    envPrefix: "FIREWORKS",
    keysUrl: "https://fireworks.ai/account/api-keys",
  },
  {
    id: "perplexity",
    name: "Perplexity",
    baseUrl: "https://api.perplexity.ai",
    pricedAs: "perplexity",
    selfHosted: false,
    envPrefix: "PERPLEXITY",
    keysUrl: "https://www.perplexity.ai/account/api/keys",
  },
  {
    id: "cerebras",
    name: "Cerebras",
    baseUrl: "https://api.cerebras.ai/v1",
    pricedAs: "cerebras",
    selfHosted: false,
    envPrefix: "CEREBRAS",
    keysUrl: "https://cloud.cerebras.ai",
  },
  { id: "ollama", name: "Ollama", baseUrl: "http://localhost:11434/v1", selfHosted: true, envPrefix: "OLLAMA" },
  { id: "vllm", name: "vLLM", baseUrl: "http://localhost:8000/v1", selfHosted: true, envPrefix: "VLLM" },
  { id: "lmstudio", name: "LM Studio", baseUrl: "http://localhost:1234/v1", selfHosted: true, envPrefix: "LMSTUDIO" },
];

export const PRESET_IDS = PROVIDER_PRESETS.map((p) => p.id) as [string, ...string[]];

const byId = new Map(PROVIDER_PRESETS.map((p) => [p.id, p]));

export function presetById(id: string | undefined): ProviderPreset | undefined {
  return id === undefined ? undefined : byId.get(id);
}

/** A preset turned on instance-wide: its keys (several: the credentials) and its base URL when set. */
export interface PresetConfig {
  apiKeys: string[];
  baseUrl?: string;
}

/**
 * The presets the instance's variables turn on: a hosted vendor by its key, a self-hosted server by its
 * base URL (its key optional). A base URL that is no http(s) URL, or a hosted vendor's base URL without a
 * key, is half-set: the message names the variable.
 */
export function presetsConfig(env: Record<string, string | undefined>): Record<string, PresetConfig> | string {
  const out: Record<string, PresetConfig> = {};
  for (const p of PROVIDER_PRESETS) {
    const apiKeys = (env[`${p.envPrefix}_API_KEY`] ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean);
    const baseUrl = env[`${p.envPrefix}_BASE_URL`]?.trim() || undefined;
    if (baseUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(baseUrl))
      return `${p.envPrefix}_BASE_URL: must be an http(s) URL like ${p.baseUrl}`;
    if (!p.selfHosted && baseUrl !== undefined && apiKeys.length === 0)
      return `${p.envPrefix}_API_KEY: set the ${p.name} key (${p.envPrefix}_BASE_URL alone turns nothing on)`;
    if (p.selfHosted && baseUrl === undefined && apiKeys.length > 0)
      return `${p.envPrefix}_BASE_URL: set the address of your ${p.name} server (its key alone turns nothing on)`;
    if (p.selfHosted ? baseUrl !== undefined : apiKeys.length > 0) out[p.id] = { apiKeys, baseUrl };
  }
  return out;
}
