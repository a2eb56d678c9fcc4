/**
 * The Azure OpenAI settings of an organization's custom provider (format
 * "azure"), stored in the row's `settings`: the API version and the model →
 * deployment names. Invariants:
 *  - only an azure provider has settings; sending them with another format is
 *    refused, and a provider that leaves the format loses them;
 *  - an azure provider has a key (Azure's `api-key` auth), and its base URL is
 *    the resource endpoint itself (no /openai/… path, no query): the adapter
 *    builds the rest of every URL;
 *  - every deployment belongs to one of the provider's models; when the models
 *    change and the deployments are not sent, removed models' deployments go.
 */
import { AZURE_DEFAULT_API_VERSION } from "../../config-azure.js";
import type { AzureSettings } from "../../gateway/providers/types.js";
import { appError } from "../../platform/errors.js";
import type { ProviderSettings, StoredModel } from "./providers.schema.js";

export interface AzureInput {
  apiVersion?: string;
  deployments?: Record<string, string>;
}

/** What a provider will look like once saved. */
export interface NextProvider {
  format: string;
  baseUrl: string;
  models: StoredModel[];
  hasKey: boolean;
}

/** The settings a provider stores; `current`: the stored settings of the provider being updated. */
export function providerSettings(input: AzureInput, next: NextProvider, current?: ProviderSettings): ProviderSettings {
  if (next.format !== "azure") {
    if (input.apiVersion !== undefined || input.deployments !== undefined) throw appError("AZURE_SETTINGS_FORMAT");
    return {};
  }
  if (!next.hasKey) throw appError("AZURE_API_KEY_REQUIRED");
  checkAzureEndpoint(next.baseUrl);
  const ids = new Set(next.models.map((m) => m.id));
  let deployments: Record<string, string>;
  if (input.deployments) {
    for (const [model, deployment] of Object.entries(input.deployments))
      if (!ids.has(model))
        throw appError(
          "DEPLOYMENT_MODEL_UNKNOWN",
          `The deployment "${deployment}" is for model "${model}", which is not one of the provider's models: add it to models.`,
        );
    deployments = input.deployments;
  } else {
    deployments = Object.fromEntries(Object.entries(current?.deployments ?? {}).filter(([m]) => ids.has(m)));
  }
  return { apiVersion: input.apiVersion ?? current?.apiVersion ?? AZURE_DEFAULT_API_VERSION, deployments };
}

/** An Azure OpenAI endpoint is the resource's own: no /openai/… path, no query (the adapter builds the rest). */
export function checkAzureEndpoint(baseUrl: string): void {
  const url = new URL(baseUrl);
  if (url.search || url.hash || /\/openai(\/|$)/i.test(url.pathname)) throw appError("AZURE_ENDPOINT_INVALID");
}

/** The settings the gateway routes an azure provider with (undefined for the other formats). */
export function azureSettings(format: string, s: ProviderSettings): AzureSettings | undefined {
  if (format !== "azure") return undefined;
  return { apiVersion: s.apiVersion ?? AZURE_DEFAULT_API_VERSION, deployments: s.deployments ?? {} };
}
