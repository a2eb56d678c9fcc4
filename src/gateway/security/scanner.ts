/**
 * createPolicyScanner: the security policy applied to a chat request and to
 * its answer. Invariants:
 * - The request is never mutated; a copy is returned in which only changed
 *   messages / parts / tool calls are new objects.
 * - Input scanning covers every role (system, developer, user, assistant,
 *   tool), string and text-part content and tool-call arguments (JSON-aware:
 *   the redacted arguments are still valid JSON); non-text parts (images,
 *   audio, files) are passed through unscanned.
 * - Prompt-injection scoring runs on user and tool content only (untrusted
 *   text); the caller's own system prompt and the model's earlier turns are
 *   trusted for injection but still scanned for PII and rules.
 * - Placeholders are numbered per type per request; the same value gets the
 *   same placeholder. restoreMap holds raw values: keep it in memory for the
 *   request only, never log it.
 * - Iterative walk (messages → parts), no recursion.
 * - With a `logged` map, scanRequest also renders each scanned string for the
 *   request log (engine.renderLog) from the same matches — the log masker
 *   then reuses it instead of scanning the text again. The log adds the
 *   secret detector when the policy has secrets off (the log always masks them).
 */
import type { LogMasker } from "../hooks.js";
import type { ChatMessage, ChatRequest, TextPart } from "../types.js";
import {
  buildEntries,
  collectHits,
  logHits,
  PlaceholderRegistry,
  render,
  renderLog,
  resolveHits,
  restoredValuesEntry,
  SECRET_LOG_ENTRY,
  type Entry,
  type Hit,
  type RenderContext,
} from "./engine.js";
import { scoreInjection } from "./injection.js";
import { bufferedChannel, scanJsonArgs } from "./json-args.js";
import { createLogMasker } from "./log-mask.js";
import type { EffectivePolicy } from "./policy.js";
import { createOutputScanner, policyViolation, type PolicyOutputScanner } from "./stream.js";
import type { Finding, RestoreMap } from "./types.js";

export { policyViolation };
export type { PolicyOutputScanner };

export interface ScanResult {
  /** The request to send upstream (redacted / masked), a copy when anything changed. */
  request: ChatRequest;
  findings: Finding[];
  /** The first blocking finding, or null; throw policyViolation(blocked) to refuse. */
  blocked: Finding | null;
  restoreMap: RestoreMap;
}

/** Log renderings recorded by scanRequest: each scanned string (content, text part, tool-call arguments) → what the log keeps of it. */
export type LoggedStrings = Map<string, string>;

export interface PolicyScanner {
  readonly policy: EffectivePolicy;
  /** With `logged`, also records what the request log keeps of every string it scans (same scan). */
  scanRequest(req: ChatRequest, logged?: LoggedStrings): ScanResult;
  /** Scans one piece of text (e.g. an embeddings input) as input. */
  scanText(text: string, location?: "input" | "output"): { text: string; findings: Finding[]; blocked: Finding | null };
  outputScanner(restoreMap?: RestoreMap): PolicyOutputScanner;
  /** What the request log keeps of a request's bodies; `scanned`: what scanRequest recorded for it, when it ran. */
  logMasker(scanned?: { logged?: ReadonlyMap<string, string>; restoreMap?: RestoreMap }): LogMasker;
}

export function createPolicyScanner(policy: EffectivePolicy): PolicyScanner {
  const entries: Entry[] = buildEntries(policy);
  const injection = policy.promptInjection;
  const logOnly: Entry[] = policy.pii.secret === "off" ? [SECRET_LOG_ENTRY] : [];
  const logEntries = [...entries, ...logOnly];
  // What an answer may still carry raw although the log must not keep it: the output scanner applied the rest.
  const answerEntries = logEntries.filter((e) => e.action === "log" && e.log !== "keep");

  /**
   * text[from..] scanned once (text before `from` is left context): rendered for the provider and,
   * with `log`, for the request log too.
   */
  function scanPiece(
    text: string,
    from: number,
    ctx: RenderContext,
    log: boolean,
  ): { text: string; blocked: Finding | null; logText?: string } {
    const hits = collectHits(text, entries);
    const inRange = (resolved: Hit[]) => (from ? resolved.filter((h) => h.match.start >= from) : resolved);
    const r = render(text, inRange(resolveHits(hits)), from, text.length, ctx);
    if (!log) return r;
    const all = logOnly.length ? hits.concat(collectHits(text, logOnly)) : hits;
    return { ...r, logText: renderLog(text, inRange(logHits(all)), from, text.length, ctx.registry) };
  }

  function scanSegment(
    text: string,
    ctx: RenderContext,
    untrusted: boolean,
    logged?: LoggedStrings,
  ): { text: string; blocked: Finding | null } {
    let blocked: Finding | null = null;
    if (untrusted && injection.action !== "off" && text.length > 0) {
      const r = scoreInjection(text);
      if (r.score >= injection.threshold) {
        const f: Finding = {
          category: "injection",
          type: "prompt_injection",
          subtype: r.families.join(","),
          action: injection.action,
          severity: r.score >= 0.8 ? "high" : "medium",
          excerpt: r.excerpt,
          location: ctx.location,
          score: r.score,
          ...(ctx.messageIndex !== undefined ? { messageIndex: ctx.messageIndex } : {}),
        };
        ctx.findings.push(f);
        if (injection.action === "block") blocked = f;
      }
    }
    if ((entries.length === 0 && !logged) || text.length === 0) return { text, blocked };
    const out = scanPiece(text, 0, ctx, logged !== undefined);
    if (logged) logged.set(text, out.logText!);
    return { text: out.text, blocked: blocked ?? out.blocked };
  }

  /** Tool-call arguments: JSON-aware (json-args.ts), so a redaction never breaks the JSON the provider parses. */
  function scanArgs(
    args: string,
    ctx: RenderContext,
    logged?: LoggedStrings,
  ): { text: string; blocked: Finding | null } {
    if ((entries.length === 0 && !logged) || !args) return { text: args, blocked: null };
    let blocked: Finding | null = null;
    const logParts: string[] = [];
    const text = scanJsonArgs(args, (context) =>
      bufferedChannel((buf) => {
        const r = scanPiece(context + buf, context.length, ctx, logged !== undefined);
        blocked ??= r.blocked;
        if (logged) logParts.push(r.logText!);
        return r.text;
      }),
    );
    if (logged) {
      // The log's copy: the same JSON walk, each string replaced by its log rendering (nothing scanned again).
      let i = 0;
      logged.set(
        args,
        scanJsonArgs(args, () => bufferedChannel(() => logParts[i++]!)),
      );
    }
    return { text, blocked };
  }

  function scanRequest(req: ChatRequest, logged?: LoggedStrings): ScanResult {
    const registry = new PlaceholderRegistry();
    const findings: Finding[] = [];
    let blocked: Finding | null = null;
    let messages: ChatMessage[] | null = null;
    const note = (b: Finding | null) => {
      if (b && !blocked) blocked = b;
    };

    req.messages.forEach((msg, i) => {
      const ctx: RenderContext = { registry, findings, location: "input", messageIndex: i };
      const untrusted = msg.role === "user" || msg.role === "tool";
      let next: ChatMessage = msg;
      const content = msg.content;
      if (typeof content === "string") {
        const r = scanSegment(content, ctx, untrusted, logged);
        note(r.blocked);
        if (r.text !== content) next = { ...msg, content: r.text } as ChatMessage;
      } else if (Array.isArray(content)) {
        let parts: typeof content | null = null;
        content.forEach((part, j) => {
          if (part.type !== "text" || typeof (part as TextPart).text !== "string") return;
          const r = scanSegment((part as TextPart).text, ctx, untrusted, logged);
          note(r.blocked);
          if (r.text !== (part as TextPart).text) {
            parts ??= [...content];
            parts[j] = { ...(part as TextPart), text: r.text };
          }
        });
        if (parts) next = { ...msg, content: parts } as ChatMessage;
      }
      if (msg.role === "assistant" && msg.tool_calls?.length) {
        let calls: typeof msg.tool_calls | null = null;
        msg.tool_calls.forEach((call, j) => {
          const args = call.function?.arguments;
          if (typeof args !== "string") return;
          const r = scanArgs(args, ctx, logged);
          note(r.blocked);
          if (r.text !== args) {
            calls ??= [...msg.tool_calls!];
            calls[j] = { ...call, function: { ...call.function, arguments: r.text } };
          }
        });
        if (calls) next = { ...(next as typeof msg), tool_calls: calls };
      }
      if (next !== msg) {
        messages ??= [...req.messages];
        messages[i] = next;
      }
    });
    return { request: messages ? { ...req, messages } : req, findings, blocked, restoreMap: registry.restore };
  }

  return {
    policy,
    scanRequest,
    scanText(text, location = "input") {
      const findings: Finding[] = [];
      const r = scanSegment(text, { registry: new PlaceholderRegistry(), findings, location }, location === "input");
      return { text: r.text, findings, blocked: r.blocked };
    },
    outputScanner: (restoreMap) => createOutputScanner(entries, restoreMap, policy.restoreRedactions),
    logMasker(scanned) {
      const restoreMap = scanned?.restoreMap;
      // Restored values reach the client, never the log: it keeps the placeholders the provider saw.
      const restored = policy.restoreRedactions && restoreMap?.size ? [restoredValuesEntry(restoreMap)] : [];
      return createLogMasker({
        entries: logEntries,
        answerEntries: [...restored, ...answerEntries],
        logged: scanned?.logged,
        registry: new PlaceholderRegistry(restoreMap),
      });
    },
  };
}
