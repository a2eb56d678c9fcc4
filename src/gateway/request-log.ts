/**
 * The request log's record of one gateway call, as the gateway fills it in:
 * who called, what was asked and served, how it ended, what it used and cost,
 * and the bodies when the project keeps them (masked, capped: log-body.ts).
 * The logs module writes it; billing writes a charged call's record with its
 * charge; metrics count it.
 */
import type { Usage } from "./types.js";

/** One upstream call of a gateway call (retries and fallbacks each count; a target skipped with its circuit open too). */
export interface Attempt {
  /** "provider/model". */
  target: string;
  /** Which of the provider's credentials, when it has several (its id, never the key). */
  credential?: string;
  /** Skipped: the circuit is open, or the credential is at its own requests-per-minute limit. */
  outcome: "ok" | "error" | "skipped_circuit_open" | "skipped_rate_limited";
  errorKind?: string;
  status?: number;
  ms: number;
}

/** Whether an attempt reached the upstream (a skipped one did not). */
export const wentUpstream = (a: Attempt): boolean => a.outcome === "ok" || a.outcome === "error";

/** How many calls went upstream (the `x-tollgate-attempts` header). */
export function countTried(attempts: readonly Attempt[]): number {
  let n = 0;
  for (const a of attempts) if (wentUpstream(a)) n++;
  return n;
}

/** The gateway endpoints that keep a log record. */
export type Endpoint =
  | "chat"
  | "messages"
  | "responses"
  | "embeddings"
  | "images"
  | "audio_transcriptions"
  | "audio_speech"
  | "moderations";

export interface RequestLogEntry {
  id: string;
  orgId: string;
  projectId: string;
  keyId: string;
  createdAt: Date;
  endpoint: Endpoint;
  modelRequested: string | null;
  modelServed: string | null;
  provider: string | null;
  status: number;
  outcome: "ok" | "error" | "client_aborted";
  errorCode: string | null;
  errorSource: "gateway" | "upstream" | null;
  usage: Usage | null;
  costMicroUsd: bigint | null;
  latencyMs: number;
  ttftMs: number | null;
  attempts: Attempt[];
  clientIp: string;
  /** The end user: `user` (OpenAI) or `metadata.user_id` (Anthropic), as the client sent it. */
  user: string | null;
  /** The request's tags (`x-tollgate-tags`, request-tags.ts); null (or absent) without any. */
  tags?: string[] | null;
  /** The body's `metadata` object, checked (request-tags.ts); null (or absent) without one. */
  metadata?: Record<string, string> | null;
  /** The response cache's answer (`hit`, `miss`); absent when the call does not use the cache. */
  cache?: "hit" | "miss";
  stream: boolean;
  requestBody: unknown;
  responseBody: unknown;
  /** The security policy's verdict (masked findings), set by the log sink; absent when nothing was found. */
  policy?: unknown;
}
