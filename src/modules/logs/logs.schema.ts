/**
 * Request logs: one row per gateway request, written in batches off the
 * request path. Rows belong to a project: deleting a project or its
 * organization removes its logs (AFTER DELETE triggers, not foreign keys). Bodies are stored only when the
 * project enables it, size-capped, and never hold the API key (keys travel in
 * headers, which are not logged).
 */
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { z } from "zod";
import { moneyFields } from "../../platform/money-fields.js";
import { usdField } from "../../platform/money-input.js";
import type { Usage } from "../../gateway/types.js";

/** The optional parts of a request's usage, as stored in `request_logs.usage_details`. */
export type UsageDetails = Partial<Omit<Usage, "inputTokens" | "cachedInputTokens" | "outputTokens" | "estimated">>;

/** Every UsageDetails key: what `billing verify` reads back to re-price a request. */
export const USAGE_DETAIL_KEYS = [
  "cacheWriteInputTokens",
  "cacheWrite1hInputTokens",
  "audioInputTokens",
  "cachedAudioInputTokens",
  "imageInputTokens",
  "reasoningTokens",
  "audioOutputTokens",
  "imageOutputTokens",
  "webSearches",
  "fileSearches",
  "audioInputSeconds",
] as const satisfies ReadonlyArray<keyof UsageDetails>;
// A usage component added to `Usage` but not here fails to
// compile: it would be billed but never re-priced, and `billing verify` would flag every such request.
const _everyDetailListed: Record<Exclude<keyof UsageDetails, (typeof USAGE_DETAIL_KEYS)[number]>, never> = {};
void _everyDetailListed;

/** The security policy's verdict on one request (written by the policies module; masked excerpts only). */
export const policyVerdictOut = z.object({
  blocked: z
    .object({ type: z.string(), ruleName: z.string().optional(), direction: z.enum(["input", "output"]) })
    .nullable(),
  findings: z.array(
    z.object({
      direction: z.enum(["input", "output"]),
      category: z.string(),
      type: z.string(),
      subtype: z.string().optional(),
      ruleName: z.string().optional(),
      action: z.string(),
      severity: z.string(),
      excerpt: z.string(),
    }),
  ),
});

export const requestLogs = pgTable(
  "request_logs",
  {
    id: text("id").notNull(),
    // No foreign keys (each cost a parent-row lock per inserted row, half the insert's CPU):
    // triggers on projects/organizations delete a deleted parent's logs instead, and the
    // writer locks the batch's projects once per batch (logs.writer.ts, migration 0006).
    orgId: text("org_id").notNull(),
    projectId: text("project_id").notNull(),
    keyId: text("key_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    endpoint: text("endpoint").notNull(),
    modelRequested: text("model_requested"),
    modelServed: text("model_served"),
    provider: text("provider"),
    status: integer("status").notNull(),
    outcome: text("outcome", { enum: ["ok", "error", "client_aborted"] }).notNull(),
    errorCode: text("error_code"),
    errorSource: text("error_source"),
    inputTokens: integer("input_tokens").notNull().default(0),
    cachedInputTokens: integer("cached_input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    usageEstimated: boolean("usage_estimated").notNull().default(false),
    /**
     * The usage components beyond input/cached/output that the provider reported (cache writes,
     * audio, images, reasoning, web searches; `Usage` field names, non-zero counts only), so
     * `billing verify` can re-price the request. Null when there are none.
     */
    usageDetails: jsonb("usage_details").$type<UsageDetails>(),
    costMicroUsd: bigint("cost_micro_usd", { mode: "bigint" }),
    latencyMs: integer("latency_ms").notNull(),
    ttftMs: integer("ttft_ms"),
    attempts: jsonb("attempts").$type<unknown[]>().notNull().default([]),
    clientIp: text("client_ip"),
    userField: text("user_field"),
    /** The request's tags (`x-tollgate-tags`), at most 10; null without any. */
    tags: jsonb("tags").$type<string[]>(),
    /** The request's `metadata` object (string values, at most 16 keys); null without one. */
    metadata: jsonb("metadata").$type<Record<string, string>>(),
    /** The response cache's answer for this request (`hit`, `miss`); null when the project caches nothing. */
    cache: text("cache", { enum: ["hit", "miss"] }),
    stream: boolean("stream").notNull().default(false),
    requestBody: jsonb("request_body"),
    responseBody: jsonb("response_body"),
    /** Security policy verdict of the request (findings with masked excerpts only; null when nothing was found). */
    policy: jsonb("policy").$type<z.infer<typeof policyVerdictOut>>(),
  },
  (t) => [
    // Partitioned by month on created_at (migration 0009): the key must be part of the primary key.
    primaryKey({ columns: [t.id, t.createdAt] }),
    index("request_logs_project_time_idx").on(t.projectId, t.createdAt, t.id),
    index("request_logs_org_time_idx").on(t.orgId, t.createdAt),
  ],
);

/**
 * Leases of background jobs that must run on one replica at a time (log
 * retention, partition upkeep): a replica runs a job only after winning a
 * conditional UPDATE of its row; the lease expires if that replica dies.
 */
export const jobLeases = pgTable("job_leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  leaseUntil: timestamp("lease_until", { withTimezone: true }).notNull(),
  lastRunAt: timestamp("last_run_at", { withTimezone: true }),
  lastResult: jsonb("last_result"),
});

/** A class of HTTP statuses in the `status` filter: `4xx` is 400–499. */
type StatusClass = `${1 | 2 | 3 | 4 | 5}xx`;
const latencyBound = z.coerce
  .number({ error: "Must be a whole number of milliseconds." })
  .int("Must be a whole number of milliseconds.")
  .min(0, "Must not be negative.")
  .max(86_400_000, "At most 86400000 ms (a day).");

export const logsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe("Requests at or after this time (ISO 8601)."),
  to: z.iso.datetime({ offset: true }).optional().describe("Requests at or before this time (ISO 8601)."),
  outcome: z.enum(["ok", "error", "client_aborted"]).optional(),
  status: z
    .string()
    .regex(/^[1-5](\d\d|xx)$/, "An HTTP status (429) or a class of them (4xx).")
    .transform((s): number | StatusClass => (s.endsWith("xx") ? (s as StatusClass) : Number(s)))
    .optional()
    .describe("An HTTP status (`429`) or a class of them (`2xx`, `4xx`, `5xx`)."),
  minCostUsd: usdField({ max: "1000000" })
    .optional()
    .describe('Requests that cost at least this many USD (decimal string, e.g. "0.01"); an unpriced request costs 0.'),
  maxCostUsd: usdField({ max: "1000000" }).optional().describe("Requests that cost at most this many USD."),
  minLatencyMs: latencyBound.optional().describe("Requests that took at least this many milliseconds."),
  maxLatencyMs: latencyBound.optional().describe("Requests that took at most this many milliseconds."),
  model: z.string().max(200).optional(),
  provider: z.string().max(100).optional(),
  keyId: z.string().max(100).optional().describe("Requests made with this API key (its id)."),
  q: z.string().max(200).optional().describe("Text to find in the request/response bodies, model or error code."),
  tag: z.string().min(1).max(64).optional().describe("Requests carrying this tag (`x-tollgate-tags`)."),
  user: z.string().min(1).max(256).optional().describe("Requests of this end user (`user`, or `metadata.user_id`)."),
});
export type LogsQuery = z.infer<typeof logsQuery>;

export const exportQuery = logsQuery
  .omit({ limit: true, cursor: true })
  .extend({ format: z.enum(["csv", "jsonl"]).default("jsonl") });

export const usageQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const logOut = z.object({
  requestId: z.string(),
  createdAt: z.string(),
  endpoint: z.string(),
  keyId: z.string(),
  modelRequested: z.string().nullable(),
  modelServed: z.string().nullable(),
  provider: z.string().nullable(),
  status: z.number(),
  outcome: z.string(),
  errorCode: z.string().nullable(),
  errorSource: z.string().nullable(),
  inputTokens: z.number(),
  cachedInputTokens: z.number(),
  outputTokens: z.number(),
  usageEstimated: z.boolean(),
  ...moneyFields("cost", { nullable: true }),
  latencyMs: z.number(),
  ttftMs: z.number().nullable(),
  attempts: z.array(z.unknown()),
  clientIp: z.string().nullable(),
  user: z.string().nullable(),
  tags: z.array(z.string()).nullable().describe("The request's tags (`x-tollgate-tags`); null without any."),
  metadata: z
    .record(z.string(), z.string())
    .nullable()
    .describe("The request's `metadata` object as sent (never forwarded to the provider); null without one."),
  cache: z
    .enum(["hit", "miss"])
    .nullable()
    .describe("The response cache's answer; null when the request did not use the cache."),
  stream: z.boolean(),
});
export const logDetailOut = logOut.extend({
  requestBody: z.unknown().nullable(),
  responseBody: z.unknown().nullable(),
  policy: policyVerdictOut
    .nullable()
    .describe("Security policy verdicts of the request (masked excerpts only); null when the policy found nothing."),
});

export const usageRowOut = z.object({
  day: z.string(),
  model: z.string().nullable(),
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number(),
  inputTokens: z.number(),
  cachedInputTokens: z.number(),
  outputTokens: z.number(),
  cacheHits: z.number().describe("Requests the response cache answered."),
  cacheMisses: z
    .number()
    .describe("Requests the response cache was asked and did not answer (they went to a provider)."),
  ...moneyFields("cost"),
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
});
