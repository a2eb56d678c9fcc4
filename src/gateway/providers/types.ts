/**
 * The one provider adapter interface and its error type. Invariants:
 * - An adapter speaks canonical (OpenAI-shaped) types on our side and its own
 *   wire format upstream; nothing else in the gateway knows wire formats.
 * - `chat()` resolves once the upstream answered with a 2xx status line and
 *   headers (so the pipeline may retry/fail over before any byte reached the
 *   client); every failure after that surfaces as an UpstreamError thrown from
 *   the stream iterator — never a hang, never a silent end.
 * - Every failure is an UpstreamError with a classified `kind`; its message is
 *   safe to show and log: no API key, no request headers, only the upstream's
 *   own error text (with the key scrubbed if echoed).
 * - Aborting `opts.signal` tears the upstream connection down at once.
 */
import type { Dispatcher } from "undici";
import type { CallSignal } from "../abort.js";
import type {
  ImagesRequest,
  ImagesResponse,
  ModerationRequest,
  ModerationResult,
  SpeechRequest,
  SpeechResult,
  TranscribeRequest,
  TranscribeResult,
} from "../media.js";
import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, Usage } from "../types.js";

export type ProviderFormat = "openai" | "anthropic" | "gemini" | "azure" | "vertex" | "bedrock" | "mock";

/** An Azure OpenAI resource's settings: the API version it is called with, and each model's deployment name. */
export interface AzureSettings {
  apiVersion: string;
  /** Model name (as clients send it) → deployment name; a model without one is its own deployment. */
  deployments: Record<string, string>;
}

/** A Vertex AI provider's project and location, and the token endpoint its key is exchanged at when not Google's. */
export interface VertexSettings {
  project: string;
  location: string;
  tokenUrl?: string;
}

/** The region and credentials of an AWS account's Bedrock runtime (an IAM user's keys, or STS temporary ones). */
export interface BedrockSettings {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** STS temporary credentials' session token (sent as `x-amz-security-token`, and signed). */
  sessionToken?: string;
}

export interface UpstreamTarget {
  /** e.g. https://api.openai.com/v1, https://api.anthropic.com, https://generativelanguage.googleapis.com */
  baseUrl: string;
  apiKey?: string;
  /** Extra headers of a custom provider; cannot override auth or content headers. */
  headers?: Record<string, string>;
  /** Provider-side model id (without our `provider/` prefix). */
  model: string;
  /** Azure OpenAI's API version and deployments (azure format only). */
  azure?: AzureSettings;
  /** Vertex AI's project and location (vertex format only; `apiKey` is then the service account key, JSON). */
  vertex?: VertexSettings;
  /** Amazon Bedrock's region and AWS credentials (bedrock format only; the requests are signed with them). */
  bedrock?: BedrockSettings;
}

export interface Timeouts {
  /** DNS + TCP + TLS until the request is written. */
  connectMs: number;
  /** Request written → response status line and headers. */
  firstByteMs: number;
  /** Longest silence between body bytes once headers arrived (incl. before the first body byte). */
  idleMs: number;
  /** Whole call, headers to last body byte included. */
  totalMs: number;
}

export interface CallOptions {
  signal: CallSignal;
  /**
   * Where the request goes out. The gateway passes the SSRF-guarded agent (net/ssrf.ts
   * createGuardedDispatcher) for organizations' custom providers only; built-in providers are the
   * operator's own configuration (they may be on localhost) and get a plain undici Agent.
   * Required on purpose: an adapter never picks one itself.
   */
  dispatcher: Dispatcher;
  timeouts: Timeouts;
}

export type ChatResult =
  | { kind: "response"; response: ChatResponse; usage: Usage | undefined }
  | {
      kind: "stream";
      stream: AsyncIterable<ChatChunk>;
      /** Final once the stream ended (normally or not); partial/undefined before. */
      usage(): Usage | undefined;
    }
  /** The answer in the upstream's own format, to a request sent as the client wrote it (NativeRequest). */
  | { kind: "native"; body: Record<string, unknown>; usage: Usage | undefined }
  | {
      kind: "native_stream";
      /** The upstream's events, parsed, in order (the terminal one included). */
      stream: AsyncIterable<NativeEvent>;
      usage(): Usage | undefined;
    };

/** An upstream API a client may speak as is (same-format traffic): Anthropic's Messages, OpenAI's Responses. */
export type NativeApi = "anthropic-messages" | "openai-responses";

/**
 * A request in the upstream's own format, from a client that spoke it (e.g. /v1/messages to an
 * Anthropic-format provider): sent as written, with only the upstream model id set — so every field the
 * provider accepts reaches it. The executor passes it only to a target of the same format.
 */
export interface NativeRequest {
  api: NativeApi;
  body: Record<string, unknown>;
  /** Request headers the provider's API reads (e.g. `anthropic-beta`). */
  headers: Record<string, string>;
}

/** Where a native request goes: the API's URL, its headers (per whether the call streams), the key to scrub. */
export interface NativeUpstream {
  url: string;
  headers: (stream: boolean) => Record<string, string>;
  apiKey?: string;
  label: string;
}

/** One event of a native stream (`type` names it, as Anthropic's do). */
export interface NativeEvent {
  type: string;
  [field: string]: unknown;
}

export interface EmbeddingsResult {
  response: EmbeddingsResponse;
  usage: Usage;
}

export interface ProviderAdapter {
  readonly format: ProviderFormat;
  /** `native`: the client's request in this adapter's own format, when it came in that format (sent as is). */
  chat(req: ChatRequest, target: UpstreamTarget, opts: CallOptions, native?: NativeRequest): Promise<ChatResult>;
  embeddings?(req: EmbeddingsRequest, target: UpstreamTarget, opts: CallOptions): Promise<EmbeddingsResult>;
  /** Image generation (OpenAI's Images API); `usage` as the provider reported it. */
  images?(
    req: ImagesRequest,
    target: UpstreamTarget,
    opts: CallOptions,
  ): Promise<{ response: ImagesResponse; usage: Usage | undefined }>;
  /** Speech to text: the upload goes out as multipart/form-data. */
  transcribe?(req: TranscribeRequest, target: UpstreamTarget, opts: CallOptions): Promise<TranscribeResult>;
  /** Text to speech: the audio bytes and their content type. */
  speech?(req: SpeechRequest, target: UpstreamTarget, opts: CallOptions): Promise<SpeechResult>;
  moderate?(req: ModerationRequest, target: UpstreamTarget, opts: CallOptions): Promise<ModerationResult>;
  /**
   * The input tokens of a chat request as the provider's own counting endpoint reports them (exact, free);
   * `native`: the client's request in this adapter's format, when it came in that format (sent as is).
   */
  countTokens?(req: ChatRequest, target: UpstreamTarget, opts: CallOptions, native?: NativeRequest): Promise<number>;
  /** The model ids the upstream lists (OpenAI's `GET /models`): a custom provider's model discovery. */
  listModels?(target: UpstreamTarget, opts: CallOptions): Promise<string[]>;
}

/** The optional capabilities an adapter may offer beyond chat. */
export type Capability = "embeddings" | "images" | "transcribe" | "speech" | "moderate";

export type UpstreamErrorKind =
  /** Could not establish a connection: refused, DNS failure, unreachable, TLS failure. */
  | "connect"
  /** The guarded dispatcher refused the resolved address (SSRF). Never retryable: it is configuration. */
  | "blocked"
  /** The connection broke after the request was sent (reset / closed before the response completed). */
  | "reset"
  | "timeout_connect"
  | "timeout_first_byte"
  | "timeout_idle"
  | "timeout_total"
  /** Non-2xx status (3xx included: redirects are never followed), or an error event inside a stream. */
  | "http"
  /** The upstream answered something we cannot understand (bad JSON, truncated stream, wrong shape). */
  | "protocol"
  /** Our caller aborted (client went away). */
  | "aborted"
  /** Not called at all: the target's circuit breaker is open (recent failures or an upstream Retry-After). */
  | "circuit_open";

const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529]);

export class UpstreamError extends Error {
  readonly kind: UpstreamErrorKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** Whether the same call may succeed if repeated (the pipeline still only retries before the first byte). */
  readonly retryable: boolean;
  /** The upstream's own error type/code when it gave one (e.g. "rate_limit_exceeded", "RESOURCE_EXHAUSTED"). */
  readonly upstreamCode?: string;

  constructor(
    kind: UpstreamErrorKind,
    message: string,
    extra: { status?: number; retryAfterMs?: number; upstreamCode?: string; retryable?: boolean } = {},
  ) {
    super(message);
    this.name = "UpstreamError";
    this.kind = kind;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
    if (extra.upstreamCode !== undefined) this.upstreamCode = extra.upstreamCode;
    this.retryable = extra.retryable ?? defaultRetryable(kind, extra.status);
  }
}

function defaultRetryable(kind: UpstreamErrorKind, status?: number): boolean {
  switch (kind) {
    case "connect":
    case "reset":
    case "timeout_connect":
    case "timeout_first_byte":
    case "timeout_idle":
      return true;
    case "http":
      return status !== undefined && RETRYABLE_STATUS.has(status);
    default:
      return false;
  }
}
