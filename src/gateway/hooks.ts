/**
 * The gateway's extension points, called by the pipeline in this order:
 *   scanInput → (route) → admitRoute → reserve → provider call → output scanner → settle → log
 * Security policies plug into scanInput / outputScanner / logMasker, billing into
 * reserve / settle. Each hook is optional; an absent hook is a no-op. A hook
 * refuses a request by throwing a GatewayError (e.g. 403 policy_violation,
 * 402 insufficient_credits), which the client receives in its API's shape.
 *
 * Guarantees the pipeline gives hooks:
 *  - scanInput runs before any upstream call and before reserve;
 *  - settle runs exactly once for every successful reserve — on success, on
 *    upstream failure and on client abort — with the usage known at that point;
 *  - the output scanner sees every piece of text (and, when it scans them,
 *    every tool-call argument fragment) before the client does.
 */
import type { Endpoint, RequestLogEntry } from "./request-log.js";
import type { ChatRequest, Usage } from "./types.js";

export interface GatewayRequestContext {
  requestId: string;
  orgId: string;
  projectId: string;
  keyId: string;
  environment: "live" | "test";
  endpoint: Endpoint;
  /** When the request arrived (its log row's created_at): usage is charged to this hour, so ledger hours reconcile with log hours. */
  startedAt?: Date;
  /** The key may learn the organization's balance (created by someone who may view billing). */
  revealBalance?: boolean;
  /** The project keeps bodies in its request log: scanInput may prepare what logMasker will need. */
  logBodies?: boolean;
  /** The project's monthly spend cap (null: none), as the verified key carried it. */
  spendCapMicroUsd?: bigint | null;
  /** The key's own budget (null: none). */
  keyBudget?: Budget | null;
  /** The project's budget per end user (null: none), and the request's end user (`user`; null: none). */
  endUserBudget?: Budget | null;
  readonly endUser?: string | null;
}

/** A spend budget over a period (UTC days or months, or all time). */
export interface Budget {
  capMicroUsd: bigint;
  period: "day" | "month" | "total";
}

/** What the request log keeps of a request's bodies (`logBodies`): never a raw value the security policy protects. */
export interface LogMasker {
  /** The parsed request body as the log keeps it: the same value when nothing is masked, else a copy. */
  request(body: unknown): unknown;
  /** The answer as the client received it (the rendered response, or a streamed answer's text), as the log keeps it. */
  response(body: unknown): unknown;
}

/**
 * A model's prices in micro-USD per million tokens (per thousand for the
 * per-request and per-search fees). Input, cached input and output are always
 * known; each other component is optional, and a component without a price is
 * billed at its parent's rate (reasoning at the output rate, a 1-hour cache
 * write at the cache-write rate, cache writes and audio at the input rate…).
 */
export interface PriceRates {
  inputMicroUsdPerM: bigint;
  cachedInputMicroUsdPerM: bigint;
  outputMicroUsdPerM: bigint;
  cacheWriteMicroUsdPerM?: bigint;
  cacheWrite1hMicroUsdPerM?: bigint;
  audioInputMicroUsdPerM?: bigint;
  cachedAudioInputMicroUsdPerM?: bigint;
  imageInputMicroUsdPerM?: bigint;
  reasoningMicroUsdPerM?: bigint;
  audioOutputMicroUsdPerM?: bigint;
  imageOutputMicroUsdPerM?: bigint;
  requestMicroUsdPerK?: bigint;
  webSearchMicroUsdPerK?: bigint;
  /** Per thousand file-search tool calls (OpenAI's file_search), in micro-USD. */
  fileSearchMicroUsdPerK?: bigint;
  /** Per hour of input audio (whisper-1), in micro-USD per hour. */
  audioInputMicroUsdPerHour?: bigint;
}

export interface PriceInfo extends PriceRates {
  /**
   * Long-context prices (e.g. Gemini above 200k input tokens): when a request's
   * input tokens exceed `aboveInputTokens`, the whole request is priced at
   * `rates` (the last tier that applies wins). Ascending.
   */
  tiers?: Array<{ aboveInputTokens: number; rates: PriceRates }>;
}

export interface RouteInfo {
  provider: string;
  model: string;
  /** The wire format of the provider (image token rules differ per provider). */
  format: string;
  custom: boolean;
  /** The catalog's price (the price library's, or the custom provider's); null when nothing prices this model. */
  prices: PriceInfo | null;
  /** The model's output limit, when known. */
  maxOutputTokens?: number;
  /** The model's context window (input + output), when known. */
  contextWindow?: number;
  /** The output limit this route's call asks for in place of the request's (a virtual model target's override). */
  askedOutputTokens?: number;
}

/** An upper bound of the input a request sends, whatever provider serves it. */
export interface InputBound {
  /** UTF-8 bytes of everything sent as text (messages, tools, schema…) plus per-message overhead: a token is at least one byte. */
  tokens: number;
  /** Images attached: each counts at its provider's documented maximum. */
  images: number;
  /** Content whose tokens its bytes do not bound (documents): the hold takes the model's context window. */
  unbounded?: boolean;
  /**
   * The provider refuses an input beyond the model's context window (transcription audio tokens): the
   * bound is at most the window when the route knows it.
   */
  withinContext?: boolean;
  /** Server-side tool calls billed per call (web and file searches) the request allows at most. */
  serverToolCalls?: number;
}

export interface ReserveInput {
  /** Every route the request may be served by (the primary first, then the fallbacks still allowed). */
  routes: RouteInfo[];
  input: InputBound;
  /** The output limit the request asked for (max_tokens / max_completion_tokens), null when it set none. */
  maxOutputTokens: number | null;
  /** Choices asked for (`n`); each may use the whole output limit. */
  choices: number;
  /** No output tokens at all (embeddings). */
  noOutput?: boolean;
  /** Upper bound of the seconds of audio uploaded (transcriptions): held at a per-hour audio price. */
  audioSeconds?: number;
  /** The share of the price this call is billed at, in percent (a response-cache hit); absent: all of it. */
  pricePercent?: number;
}

export interface Settlement {
  costMicroUsd: bigint;
  balanceMicroUsd?: bigint;
}

export interface SettleInput {
  route: RouteInfo | null;
  usage: Usage | undefined;
  outcome: "ok" | "upstream_error" | "client_aborted" | "gateway_error";
  /**
   * The request's log entry, complete but for the time its last bytes take to send: billing writes a
   * charged request's row with its charge (one transaction), so a crash keeps or loses both.
   */
  log?: RequestLogEntry;
  /** The share of the usage's price charged, in percent (a response-cache hit); absent: all of it. */
  pricePercent?: number;
}

/** Transforms streamed or whole output text; may throw a GatewayError to stop the answer. */
export interface OutputScanner {
  /** Called with each piece of text in order; returns the text to send now (it may hold some back). */
  push(text: string, choiceIndex: number): string;
  /** End of the answer: returns whatever was held back. */
  end(choiceIndex: number): string;
  /**
   * Tool-call arguments (JSON text) of call `toolIndex` in choice `choiceIndex`, fragment by
   * fragment in order; returns the JSON text to send now. Once endArgs has returned, the
   * concatenation of what was returned must be valid JSON whenever the fragments were.
   * Optional: a scanner without it leaves tool-call arguments as the model wrote them.
   */
  pushArgs?(fragment: string, choiceIndex: number, toolIndex: number): string;
  /** End of one tool call's arguments: returns whatever was held back. */
  endArgs?(choiceIndex: number, toolIndex: number): string;
}

export interface GatewayHooks {
  scanInput?(ctx: GatewayRequestContext, req: ChatRequest): Promise<ChatRequest | undefined>;
  outputScanner?(ctx: GatewayRequestContext): OutputScanner | undefined;
  /**
   * Asked only when the project logs bodies, after scanInput (or for a request refused before the
   * pipeline). Absent, or answering undefined: the log masks recognised secrets only (log-body.ts).
   */
  logMasker?(ctx: GatewayRequestContext): LogMasker | undefined;
  /**
   * May this request be served by this route at all (it has a price, a test key may use it)? Throws
   * the GatewayError to answer when not. The pipeline asks for the primary route (the refusal
   * reaches the client) and for each fallback (one that is refused is skipped).
   */
  admitRoute?(ctx: GatewayRequestContext, route: RouteInfo): void;
  reserve?(ctx: GatewayRequestContext, input: ReserveInput): Promise<unknown>;
  settle?(ctx: GatewayRequestContext, reservation: unknown, input: SettleInput): Promise<Settlement | undefined>;
}
