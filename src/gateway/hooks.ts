/**
 * The gateway's extension points, called by the pipeline in this order:
 *   scanInput → (route) → reserve → provider call → output scanner → settle → log
 * Security policies plug into scanInput / outputScanner, billing into
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
import type { ChatRequest, Usage } from "./types.js";

export interface GatewayRequestContext {
  requestId: string;
  orgId: string;
  projectId: string;
  keyId: string;
  environment: "live" | "test";
  endpoint: "chat" | "messages" | "embeddings";
  /** When the request arrived (its log row's created_at): usage is charged to this hour, so ledger hours reconcile with log hours. */
  startedAt?: Date;
}

export interface PriceInfo {
  /** micro-USD per million tokens */
  inputMicroUsdPerM: bigint;
  cachedInputMicroUsdPerM: bigint;
  outputMicroUsdPerM: bigint;
}

export interface RouteInfo {
  provider: string;
  model: string;
  custom: boolean;
  prices: PriceInfo;
  maxOutputTokens: number;
}

export interface ReserveInput {
  route: RouteInfo;
  estimatedInputTokens: number;
  maxOutputTokens: number;
}

export interface Settlement {
  costMicroUsd: bigint;
  balanceMicroUsd?: bigint;
}

export interface SettleInput {
  route: RouteInfo | null;
  usage: Usage | undefined;
  outcome: "ok" | "upstream_error" | "client_aborted" | "gateway_error";
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
  scanInput?(ctx: GatewayRequestContext, req: ChatRequest): Promise<ChatRequest | void>;
  outputScanner?(ctx: GatewayRequestContext): OutputScanner | undefined;
  reserve?(ctx: GatewayRequestContext, input: ReserveInput): Promise<unknown>;
  settle?(ctx: GatewayRequestContext, reservation: unknown, input: SettleInput): Promise<Settlement | undefined>;
}
