/**
 * Response shapes of tags, metadata and end users: what a request log entry
 * adds (with its response cache answer), and the usage report grouped by one
 * dimension (`groupBy`).
 */

/**
 * What a request log entry says of its tags and metadata (null without any), and the response
 * cache's answer (null when the project caches nothing).
 */
export interface LogLabels {
  tags?: string[] | null;
  metadata?: Record<string, string> | null;
  cache?: "hit" | "miss" | null;
}

export const USAGE_GROUPS = ["day", "project", "model", "key", "tag", "user"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageGroupRow {
  /** The day, project id, model, key id, tag or end user; "" gathers the requests without a tag / end user. */
  value: string;
  /** The project's slug or the key's name. */
  label: string | null;
  requests: number;
  inputTokens: string;
  cachedInputTokens: string;
  outputTokens: string;
  costMicroUsd: string;
  costUsd: string;
}

export interface UsageGroups {
  from: string;
  to: string;
  groupBy: UsageGroup;
  rows: UsageGroupRow[];
  /** The period's usage as charged (rows by tag add up to more when requests carry several tags). */
  totals: {
    requests: number;
    inputTokens: string;
    cachedInputTokens: string;
    outputTokens: string;
    costMicroUsd: string;
    costUsd: string;
  };
}
