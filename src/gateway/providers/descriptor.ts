/**
 * What the gateway knows about one provider, in one object: its wire adapter,
 * the built-in provider it stands for (name, default base URL, config section,
 * models) and the facts billing's worst-case bounds need (image ceiling,
 * default output limit). Each provider's folder exports one descriptor; the
 * registry collects them. A descriptor's `id` is both the built-in provider's
 * slug and the wire format its adapter speaks: an organization's custom
 * provider picks one of those formats and gets the same adapter and bounds.
 */
import type { Config } from "../../config.js";
import type { PriceInfo } from "../hooks.js";
import type { ProviderAdapter, ProviderFormat } from "./types.js";

/** Settings the gateway creates its adapters with. */
/** What the gateway knows of one model: its limits, its price (null: nothing prices it), whether it embeds. */
export interface ModelInfo {
  id: string;
  contextWindow?: number;
  maxOutputTokens?: number;
  prices: PriceInfo | null;
  embeddings?: boolean;
}

export interface AdapterSettings {
  /** Pause between the mock provider's stream chunks (its own default when absent). */
  mockChunkDelayMs?: number;
}

/** A built-in provider whose models are the price library's (@pydantic/genai-prices). */
export interface LibraryModels {
  kind: "library";
  /** The provider's id in the price library. */
  libraryProviderId: string;
  /** Well-known names offered first in /v1/models, ahead of the rest of the library's (any other name still routes). */
  featured: readonly string[];
  /** Library entries the provider's chat or embeddings API does not serve. */
  notServed: RegExp;
}

/** A built-in provider with a fixed model list (nothing else routes). */
export interface FixedModels {
  kind: "fixed";
  models: readonly ModelInfo[];
}

/**
 * A built-in provider whose models are the deployments its config section names (Azure OpenAI),
 * each priced as the price library prices the model of the same name at another built-in provider.
 */
export interface DeploymentModels {
  kind: "deployments";
  /** The built-in provider whose library prices apply (e.g. "openai"). */
  pricedAs: ProviderFormat;
}

/**
 * A built-in provider hosting several publishers' models (Vertex AI: Google's and Anthropic's): each
 * publisher's models are the price library's models of another built-in provider, priced as there.
 */
export interface PublisherModels {
  kind: "publishers";
  publishers: ReadonlyArray<{
    /** The model names of this publisher (e.g. /^claude-/). */
    models: RegExp;
    /** The built-in provider whose library models and prices apply (e.g. "anthropic"). */
    pricedAs: ProviderFormat;
  }>;
}

export interface ProviderDescriptor {
  /** The built-in provider's slug and the wire format of its adapter. */
  readonly id: ProviderFormat;
  /** Display name of the built-in provider. */
  readonly name: string;
  /** The wire adapter (one per gateway; custom providers of this format share it). */
  createAdapter(settings: AdapterSettings): ProviderAdapter;
  /** The built-in provider's base URL when the instance config sets none. */
  readonly defaultBaseUrl: string;
  /**
   * The instance config section holding the built-in provider's key and base URL: the
   * provider is offered only when one of them is set. Absent: always offered, without a key.
   */
  readonly configKey?: keyof Config["providers"];
  /** The built-in provider's models. */
  readonly models: LibraryModels | FixedModels | DeploymentModels | PublisherModels;
  /** Bare model names (without a `provider/` prefix) routed to the built-in provider. */
  readonly bareModels?: RegExp;
  /** The most tokens one image can cost on a model of this format (the credit hold counts each image at it). */
  imageTokenCeiling(model: string): number;
  /** max_tokens the adapter sends when a request sets none (absent: it sends none, the model's limit applies). */
  readonly defaultMaxOutputTokens?: number;
}
