/**
 * Virtual models as the API shows them (`/api/v1/orgs/<org>/virtual-models`):
 * a name an organization's apps send as `model`, resolving to targets with a
 * strategy, each target with an optional weight and parameter overrides. The
 * strategies' names and explanations in words live here too, so the list and
 * the form say the same thing.
 */
import { orgUrl } from "./api";

export type VirtualStrategy = "fallback" | "weighted" | "least-latency";

/** The request fields a target may override (the server refuses others). */
export interface VirtualTargetParams {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  stop?: string | string[];
  reasoning_effort?: "minimal" | "low" | "medium" | "high";
}

export interface VirtualTarget {
  model: string;
  weight: number;
  params: VirtualTargetParams | null;
}

export interface VirtualModel {
  id: string;
  name: string;
  strategy: VirtualStrategy;
  targets: VirtualTarget[];
  description: string;
  createdAt: string;
  updatedAt: string;
}

/** What `POST …/virtual-models` takes (PATCH takes any part of it). */
export interface VirtualModelBody {
  name: string;
  strategy: VirtualStrategy;
  targets: Array<{ model: string; weight?: number; params?: VirtualTargetParams }>;
  description?: string;
}

export const STRATEGIES: Array<{ value: VirtualStrategy; label: string; explanation: string }> = [
  {
    value: "fallback",
    label: "Fallback",
    explanation: "Tries the targets in order: the next one answers when one fails.",
  },
  {
    value: "weighted",
    label: "Weighted",
    explanation: "Splits traffic by weight (e.g. 90/10 for an A/B test); the others stand by as fallbacks.",
  },
  {
    value: "least-latency",
    label: "Least latency",
    explanation: "Sends each request to the fastest target by measured median latency.",
  },
];

export const strategyOf = (s: VirtualStrategy) => STRATEGIES.find((x) => x.value === s) ?? STRATEGIES[0]!;

/** Parameter names as people read them. */
export const PARAM_LABELS: Record<keyof VirtualTargetParams, string> = {
  temperature: "temperature",
  top_p: "top p",
  max_tokens: "max tokens",
  max_completion_tokens: "max completion tokens",
  presence_penalty: "presence penalty",
  frequency_penalty: "frequency penalty",
  seed: "seed",
  stop: "stop",
  reasoning_effort: "reasoning effort",
};

/** `temperature 0.2 · max tokens 512`, or "" without overrides. */
export function describeParams(p: VirtualTargetParams | null | undefined): string {
  if (!p) return "";
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${PARAM_LABELS[k as keyof VirtualTargetParams] ?? k} ${Array.isArray(v) ? v.join(", ") : v}`)
    .join(" · ");
}

export const virtualModelsUrl = (org: string, name?: string) =>
  orgUrl(org, `/virtual-models${name === undefined ? "" : `/${encodeURIComponent(name)}`}`);
export const virtualModelsKey = (org: string) => ["org", org, "virtual-models"] as const;
