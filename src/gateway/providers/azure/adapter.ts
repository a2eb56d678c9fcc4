/**
 * The `azure` wire format: Azure OpenAI serves OpenAI's Chat Completions and
 * Embeddings per deployment, so this is the OpenAI adapter with Azure's
 * addressing and key header. Invariants:
 * - Requests go to `{endpoint}/openai/deployments/{deployment}/{path}?api-version={version}`:
 *   the deployment is the target's mapping for its model, or the model's own
 *   name; the body keeps the model name (Azure routes by the path and ignores it).
 * - The key travels in the `api-key` header, never in `Authorization`.
 * - Everything else is the OpenAI adapter's: streams ask for usage
 *   (stream_options.include_usage) and end with one usage-only chunk; Azure's
 *   opening chunk without choices (its prompt filter results) is not passed on;
 *   errors are classified by status, so a content-filter refusal (400
 *   `content_filter`) is the request's fault: not retried, no failover, no
 *   circuit-breaker failure. A `finish_reason: "content_filter"` answer is a
 *   normal answer, passed on as it came.
 * - Chat and embeddings only: Azure's other APIs are not offered through this
 *   format, and a Responses request reaches it translated to chat (never as is).
 */
import { joinUrl } from "../http/index.js";
import { createOpenAIAdapter } from "../openai/index.js";
import type { ProviderAdapter, UpstreamTarget } from "../types.js";
import { AZURE_DEFAULT_API_VERSION } from "../../../config-azure.js";

/** The URL of an API path ("chat/completions", "embeddings") on the target's deployment for its model. */
function azureUrl(target: UpstreamTarget, path: string): string {
  const deployments = target.azure?.deployments;
  const deployment =
    deployments && Object.hasOwn(deployments, target.model) ? deployments[target.model]! : target.model;
  const version = target.azure?.apiVersion ?? AZURE_DEFAULT_API_VERSION;
  const url = joinUrl(target.baseUrl, `openai/deployments/${encodeURIComponent(deployment)}/${path}`);
  return `${url}?api-version=${encodeURIComponent(version)}`;
}

export function createAzureAdapter(): ProviderAdapter {
  const openai = createOpenAIAdapter({ label: "azure", auth: "api-key", url: azureUrl });
  return {
    format: "azure",
    // Never a native request: the executor sends one only to a provider that speaks it (catalog.speaksNatively).
    chat: (req, target, opts) => openai.chat(req, target, opts),
    embeddings: openai.embeddings,
  };
}
