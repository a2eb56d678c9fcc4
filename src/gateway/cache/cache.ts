/**
 * The response cache's contract and its key. Invariants:
 *  - a key is the SHA-256 of the normalised request: the model asked for and
 *    every field that changes the answer (messages, tools, sampling, limits,
 *    format), serialised with sorted keys; fields that do not change it
 *    (stream options, `user`, `metadata`) are left out, and `stream` is kept
 *    (a stream is replayed from the chunks the client got, an answer from the
 *    answer);
 *  - the key is computed from the request as it leaves Tollgate: after the
 *    security policy's input handling, so a redacted value is never part of a
 *    key and two requests differing only in a redacted value share an answer;
 *  - entries are scoped to one project by the store: no key is looked up
 *    outside its project, so nothing is shared across projects or orgs;
 *  - an entry holds what the client was sent (after the output policy), the
 *    usage the provider reported and the `provider/model` that served it
 *    (priced at today's price of that target when a hit is billed);
 *  - a store failure is a miss (reads) or nothing (writes), never an error.
 */
import { createHash } from "node:crypto";
import { configure } from "safe-stable-stringify";
import type { NativeApi, NativeEvent, NativeRequest } from "../providers/types.js";
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, Usage } from "../types.js";

export interface CacheEntry {
  /**
   * `response`: a whole answer; `stream`: the chunks a streamed answer was sent as; `native`/`native_stream`:
   * an answer in the provider's own API as the client got it (`body`; `events`: its stream's events, the
   * cost extension left out); `embeddings`: vectors.
   */
  kind: "response" | "stream" | "native" | "native_stream" | "embeddings";
  response?: ChatResponse;
  chunks?: ChatChunk[];
  body?: unknown;
  events?: NativeEvent[];
  /** The embeddings answer as the provider gave it (its `model` is set to the served name when sent). */
  embeddings?: EmbeddingsResponse;
  usage: Usage;
  /** The `provider/model` that served it. */
  served: string;
}

/** An answer found in the cache, and when it expires (epoch ms). */
export interface CachedAnswer {
  entry: CacheEntry;
  expiresAtMs: number;
}

export interface ResponseCacheStore {
  get(projectId: string, key: string): Promise<CachedAnswer | null>;
  /** `text`: the entry as JSON (serialised once by the caller). */
  set(
    projectId: string,
    orgId: string,
    key: string,
    entry: CacheEntry,
    text: string,
    ttlSeconds: number,
  ): Promise<void>;
}

/** Entries larger than this (serialised) are not kept. */
export const MAX_ENTRY_BYTES = 1024 * 1024;

/** Fields that do not change the answer. */
const IGNORED = new Set(["stream_options", "user", "metadata", "store", "service_tier", "prompt_cache_key"]);

const stable = configure({ bigint: false, circularValue: Error, deterministic: true });

/**
 * The cache key of a request (hex SHA-256), for the model name the client asked for. Chat keys hold
 * `stream` (a stream is replayed as one); other keys name their API (embeddings, or the provider's own API
 * a native request is written in, with the headers sent with it), so no two APIs share an answer.
 */
export function cacheKey(asked: string, req: ChatRequest): string;
export function cacheKey(asked: string, req: EmbeddingsRequest, api: "embeddings"): string;
export function cacheKey(asked: string, req: NativeRequest, api: NativeApi): string;
export function cacheKey(
  asked: string,
  req: ChatRequest | EmbeddingsRequest | NativeRequest,
  api?: "embeddings" | NativeApi,
): string {
  const fields: Record<string, unknown> = api ? { asked, endpoint: api } : { asked };
  const native = api && api !== "embeddings" ? (req as NativeRequest) : null;
  for (const [k, v] of Object.entries(native ? native.body : req))
    if (!IGNORED.has(k) && k !== "model" && v !== undefined) fields[k] = v;
  if (native) fields["tollgate:headers"] = native.headers;
  if (!api) fields.stream = (req as ChatRequest).stream === true;
  return createHash("sha256")
    .update(stable(fields) ?? "")
    .digest("hex");
}
