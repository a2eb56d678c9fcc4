/**
 * Azure OpenAI's settings as Tollgate takes them, shared by the instance
 * config (AZURE_OPENAI_*) and organizations' custom providers: the API
 * version used when none is given, what an API version and a deployment name
 * look like, and the `model=deployment,…` list of the environment.
 * No imports: the config module reads this file, and it sits below everything.
 */

/** The newest generally available data-plane API version (Chat Completions with stream usage, Embeddings). */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/** `2024-10-21` or a preview such as `2025-04-01-preview`. */
export const AZURE_API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/** Azure's deployment names: letters, digits, `-`, `_` and `.`, at most 64 characters. */
export const AZURE_DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A model name as clients send it: no spaces, not starting with `/` (as custom providers' model ids). */
const MODEL_NAME = /^[^\s/][^\s=,]{0,199}$/;

/**
 * Parses `gpt-4o=my-gpt4o,text-embedding-3-small` (a model without `=deployment` is its own deployment).
 * Returns the map, or an error message naming the first bad entry.
 */
export function parseDeploymentList(raw: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const item of raw
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const eq = item.indexOf("=");
    const model = (eq < 0 ? item : item.slice(0, eq)).trim();
    const deployment = (eq < 0 ? item : item.slice(eq + 1)).trim();
    if (!MODEL_NAME.test(model)) return `"${item}": the model name is empty or has spaces`;
    if (!AZURE_DEPLOYMENT_NAME.test(deployment))
      return `"${item}": a deployment name is 1 to 64 letters, digits, '-', '_' or '.'`;
    if (model in out) return `"${model}" is listed twice`;
    out[model] = deployment;
  }
  return out;
}

/** The built-in Azure OpenAI provider needs its endpoint, its key and at least one deployment, or none of them. */
export function azureConfigProblem(e: {
  AZURE_OPENAI_ENDPOINT?: string;
  AZURE_OPENAI_API_KEY?: string;
  AZURE_OPENAI_DEPLOYMENTS: Record<string, string>;
}): string | null {
  const endpoint = !!e.AZURE_OPENAI_ENDPOINT;
  const key = !!e.AZURE_OPENAI_API_KEY;
  const deployments = Object.keys(e.AZURE_OPENAI_DEPLOYMENTS).length > 0;
  if (!endpoint && !key && !deployments) return null;
  if (!endpoint) return "AZURE_OPENAI_ENDPOINT: set the resource's endpoint (https://<resource>.openai.azure.com)";
  if (!key) return "AZURE_OPENAI_API_KEY: set the resource's key (Keys and Endpoint in the Azure portal)";
  if (!deployments) return "AZURE_OPENAI_DEPLOYMENTS: name at least one deployment, e.g. gpt-4o=my-gpt4o";
  const url = new URL(e.AZURE_OPENAI_ENDPOINT!);
  if (url.search || url.hash || /\/openai(\/|$)/i.test(url.pathname))
    return "AZURE_OPENAI_ENDPOINT: only the resource's endpoint, without /openai/… or ?api-version (https://<resource>.openai.azure.com)";
  return null;
}
