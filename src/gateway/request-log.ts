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
  outcome: "ok" | "error" | "skipped_circuit_open";
  errorKind?: string;
  status?: number;
  ms: number;
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
  user: string | null;
  stream: boolean;
  requestBody: unknown;
  responseBody: unknown;
  /** The security policy's verdict (masked findings), set by the log sink; absent when nothing was found. */
  policy?: unknown;
}
