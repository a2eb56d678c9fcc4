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
 */
import type { ChatMessage, ChatRequest, TextPart } from "../types.js";
import { buildEntries, findMatches, PlaceholderRegistry, render, type Entry, type RenderContext } from "./engine.js";
import { scoreInjection } from "./injection.js";
import { scanJsonArgs } from "./json-args.js";
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

export interface PolicyScanner {
  readonly policy: EffectivePolicy;
  scanRequest(req: ChatRequest): ScanResult;
  /** Scans one piece of text (e.g. an embeddings input) as input. */
  scanText(text: string, location?: "input" | "output"): { text: string; findings: Finding[]; blocked: Finding | null };
  outputScanner(restoreMap?: RestoreMap): PolicyOutputScanner;
}

export function createPolicyScanner(policy: EffectivePolicy): PolicyScanner {
  const entries: Entry[] = buildEntries(policy);
  const injection = policy.promptInjection;

  function scanSegment(text: string, ctx: RenderContext, untrusted: boolean): { text: string; blocked: Finding | null } {
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
    if (entries.length === 0 || text.length === 0) return { text, blocked };
    const out = render(text, findMatches(text, entries), 0, text.length, ctx);
    return { text: out.text, blocked: blocked ?? out.blocked };
  }

  /** Tool-call arguments: JSON-aware (json-args.ts), so a redaction never breaks the JSON the provider parses. */
  function scanArgs(args: string, ctx: RenderContext): { text: string; blocked: Finding | null } {
    if (entries.length === 0 || !args) return { text: args, blocked: null };
    let blocked: Finding | null = null;
    const text = scanJsonArgs(args, (context) => {
      let buf = "";
      return {
        push(t) {
          buf += t;
          return "";
        },
        end() {
          const full = context + buf;
          const hits = findMatches(full, entries).filter((h) => h.match.start >= context.length);
          const r = render(full, hits, context.length, full.length, ctx);
          blocked ??= r.blocked;
          return r.text;
        },
      };
    });
    return { text, blocked };
  }

  function scanRequest(req: ChatRequest): ScanResult {
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
        const r = scanSegment(content, ctx, untrusted);
        note(r.blocked);
        if (r.text !== content) next = { ...msg, content: r.text } as ChatMessage;
      } else if (Array.isArray(content)) {
        let parts: typeof content | null = null;
        content.forEach((part, j) => {
          if (part.type !== "text" || typeof (part as TextPart).text !== "string") return;
          const r = scanSegment((part as TextPart).text, ctx, untrusted);
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
          const r = scanArgs(args, ctx);
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
  };
}
