/**
 * The matching core shared by input and output scanning. Invariants:
 * - An Engine is built once per effective policy from detectors that share one
 *   signature; "off" detectors are not built at all.
 * - findMatches returns non-overlapping matches sorted by start. On overlap
 *   the stricter action wins, then the more specific detector, then the longer
 *   match, so an overlap can never downgrade a block or redaction.
 * - render applies actions to a slice: log keeps text, mask/redact rewrite it,
 *   block keeps text (the caller refuses the request). Every applied match
 *   yields one Finding with a masked excerpt; raw values go only into the
 *   per-request placeholder registry (needed to restore them), never findings.
 * - renderLog renders the same text for the request log from the same scan:
 *   each entry says what the log keeps of its matches (logActionOf), and
 *   overlaps are resolved for the log on their own, so a match the log must
 *   hide is never lost to one the policy only logs.
 */
import { maskGeneric, maskValue } from "./mask.js";
import { DETECTOR_PRIORITY, PII_DETECTORS } from "./pii/index.js";
import type { EffectivePolicy } from "./policy.js";
import { ruleDetector } from "./rules.js";
import { actionRank, type Action, type Detector, type Finding, type Match, type Severity } from "./types.js";

export type EngineAction = Exclude<Action, "off"> | "restore";

/** What the request log keeps of a match: the value, its mask (as in an incident excerpt), or the placeholder the provider saw. */
export type LogAction = "keep" | "mask" | "redact";

export interface Entry {
  detector: Detector;
  /** `restored`: raw values a request's placeholders stand for, found in an answer that restored them (log only). */
  category: "pii" | "rule" | "placeholder" | "restored";
  action: EngineAction;
  priority: number;
  ruleName?: string;
  ruleCategory?: string;
  /** Absent: the entry never renders for the log (the output scanner's restore entry). */
  log?: LogAction;
}

export interface Hit {
  match: Match;
  entry: Entry;
}

const LABELS: Record<string, string> = {
  email: "EMAIL",
  phone: "PHONE",
  card: "CARD",
  ssn: "SSN",
  iban: "IBAN",
  ip: "IP",
  secret: "SECRET",
};
const TYPE_OF_LABEL: Record<string, string> = Object.fromEntries(
  Object.entries(LABELS).map(([type, label]) => [label, type]),
);
export const PLACEHOLDER_RE = /\[(?:EMAIL|PHONE|CARD|SSN|IBAN|IP|SECRET|REDACTED)_\d{1,6}\]/g;
export const PLACEHOLDER_MAX = 16;

/** Per-request placeholder numbering: the same value always gets the same placeholder. */
export class PlaceholderRegistry {
  private readonly byValue = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  readonly restore = new Map<string, string>();

  constructor(seed?: ReadonlyMap<string, string>) {
    for (const [ph, value] of seed ?? []) {
      this.restore.set(ph, value);
      const m = /^\[([A-Z]+)_(\d+)\]$/.exec(ph);
      if (m) {
        this.byValue.set(`${m[1]}\u0000${value}`, ph);
        this.counters.set(m[1]!, Math.max(this.counters.get(m[1]!) ?? 0, Number(m[2])));
      }
    }
  }

  placeholder(type: string, value: string): string {
    const label = LABELS[type] ?? "REDACTED";
    const key = `${label}\u0000${value}`;
    let ph = this.byValue.get(key);
    if (!ph) {
      const n = (this.counters.get(label) ?? 0) + 1;
      this.counters.set(label, n);
      ph = `[${label}_${n}]`;
      this.byValue.set(key, ph);
      this.restore.set(ph, value);
    }
    return ph;
  }
}

const PII_SEVERITY: Record<string, Severity> = {
  secret: "critical",
  card: "high",
  ssn: "high",
  iban: "high",
  email: "medium",
  phone: "medium",
  ip: "low",
};
const RULE_SEVERITY: Record<string, Severity> = { block: "high", redact: "medium", mask: "medium", log: "low" };

/**
 * What the log keeps given the policy's action: a redaction stays the placeholder the provider saw;
 * what was masked or blocked is masked; a recognised secret is masked whatever the action (a log
 * is read by every member of the project, a leaked key is a key to rotate); the rest is kept.
 */
export function logActionOf(type: string, action: Action): LogAction {
  if (action === "redact") return "redact";
  return action === "mask" || action === "block" || type === "secret" ? "mask" : "keep";
}

export function buildEntries(policy: EffectivePolicy): Entry[] {
  const entries: Entry[] = [];
  DETECTOR_PRIORITY.forEach((type, i) => {
    const action = policy.pii[type];
    if (action !== "off")
      entries.push({
        detector: PII_DETECTORS[type],
        category: "pii",
        action,
        priority: i,
        log: logActionOf(type, action),
      });
  });
  for (const r of policy.rules) {
    entries.push({
      detector: ruleDetector(r),
      category: "rule",
      action: r.action,
      priority: 100,
      ruleName: r.name,
      log: logActionOf(r.type, r.action),
      ...(r.category ? { ruleCategory: r.category } : {}),
    });
  }
  return entries;
}

/** Secrets for the log alone, when the policy lets them through (`off`): never used to render what the provider gets. */
export const SECRET_LOG_ENTRY: Entry = {
  detector: PII_DETECTORS.secret,
  category: "pii",
  action: "log",
  priority: DETECTOR_PRIORITY.indexOf("secret"),
  log: "mask",
};

/** The raw values behind a request's placeholders, where an answer restored them: the log puts the placeholder back. */
export function restoredValuesEntry(restore: ReadonlyMap<string, string>): Entry {
  const values = [...restore].map(([ph, value]) => ({
    value,
    type: TYPE_OF_LABEL[/^\[([A-Z]+)_/.exec(ph)?.[1] ?? ""] ?? "rule",
  }));
  return {
    category: "restored",
    action: "log",
    priority: -1,
    log: "redact",
    detector: {
      id: "restored",
      maxLength: Math.max(0, ...values.map((v) => v.value.length)),
      scan(text) {
        const out: Match[] = [];
        for (const { value, type } of values) {
          for (let at = text.indexOf(value); value && at >= 0; at = text.indexOf(value, at + value.length))
            out.push({ type, start: at, end: at + value.length });
        }
        return out;
      },
    },
  };
}

export function placeholderEntry(restore: ReadonlyMap<string, string>): Entry {
  return {
    category: "placeholder",
    action: "restore",
    priority: -1,
    detector: {
      id: "placeholder",
      maxLength: PLACEHOLDER_MAX,
      scan(text) {
        if (!text.includes("[")) return [];
        const out: Match[] = [];
        PLACEHOLDER_RE.lastIndex = 0;
        for (let m = PLACEHOLDER_RE.exec(text); m; m = PLACEHOLDER_RE.exec(text)) {
          if (restore.has(m[0])) out.push({ type: "placeholder", start: m.index, end: m.index + m[0].length });
        }
        return out;
      },
    },
  };
}

const rankOf = (e: Entry) => (e.action === "restore" ? 10 : actionRank(e.action));
const LOG_RANK: Record<LogAction, number> = { redact: 2, mask: 1, keep: 0 };
const logRankOf = (e: Entry) => LOG_RANK[e.log ?? "keep"];

/** Every match of every entry, overlapping ones included (resolve them with resolveHits / logHits). */
export function collectHits(text: string, entries: readonly Entry[]): Hit[] {
  const hits: Hit[] = [];
  for (const entry of entries) for (const match of entry.detector.scan(text)) hits.push({ match, entry });
  return hits;
}

/** Non-overlapping hits sorted by start: the higher rank wins an overlap, then the more specific entry, then the longer match. */
export function resolveHits(hits: Hit[], rank: (e: Entry) => number = rankOf): Hit[] {
  if (hits.length < 2) return hits;
  hits.sort(
    (a, b) =>
      rank(b.entry) - rank(a.entry) ||
      a.entry.priority - b.entry.priority ||
      b.match.end - b.match.start - (a.match.end - a.match.start) ||
      a.match.start - b.match.start,
  );
  const kept: Hit[] = [];
  for (const h of hits) {
    if (!kept.some((k) => h.match.start < k.match.end && k.match.start < h.match.end)) kept.push(h);
  }
  return kept.sort((a, b) => a.match.start - b.match.start);
}

export function findMatches(text: string, entries: readonly Entry[]): Hit[] {
  return resolveHits(collectHits(text, entries));
}

/** The hits the log must rewrite, resolved by what the log keeps (a redaction beats a mask beats a kept value). */
export function logHits(hits: readonly Hit[]): Hit[] {
  return resolveHits(
    hits.filter((h) => h.entry.log && h.entry.log !== "keep"),
    logRankOf,
  );
}

export interface RenderContext {
  registry: PlaceholderRegistry;
  findings: Finding[];
  location: "input" | "output";
  messageIndex?: number;
}

/** Rewrites text[from, to) applying the hits inside it; returns the new text and the first block. */
export function render(
  text: string,
  hits: readonly Hit[],
  from: number,
  to: number,
  ctx: RenderContext,
): { text: string; blocked: Finding | null } {
  let out = "";
  let pos = from;
  let blocked: Finding | null = null;
  for (const { match, entry } of hits) {
    if (match.start < from || match.end > to) continue;
    const value = text.slice(match.start, match.end);
    out += text.slice(pos, match.start);
    pos = match.end;
    if (entry.action === "restore") {
      out += ctx.registry.restore.get(value) ?? value;
      continue;
    }
    const excerpt = maskOf(entry, match, value);
    const finding: Finding = {
      category: entry.category === "pii" ? "pii" : "rule",
      type: match.type,
      action: entry.action,
      severity:
        entry.category === "pii"
          ? entry.action === "block" && match.type !== "secret"
            ? "high"
            : (PII_SEVERITY[match.type] ?? "medium")
          : RULE_SEVERITY[entry.action]!,
      excerpt,
      location: ctx.location,
      ...(match.subtype ? { subtype: match.subtype } : {}),
      ...(entry.ruleName ? { ruleName: entry.ruleName } : {}),
      ...(entry.ruleCategory ? { ruleCategory: entry.ruleCategory } : {}),
      ...(ctx.messageIndex !== undefined ? { messageIndex: ctx.messageIndex } : {}),
    };
    ctx.findings.push(finding);
    if (entry.action === "block" && !blocked) blocked = finding;
    if (entry.action === "redact") out += placeholderOf(ctx.registry, entry, match, value);
    else if (entry.action === "mask") out += excerpt;
    else out += value;
  }
  out += text.slice(pos, to);
  return { text: out, blocked };
}

/** text[from, to) as the request log keeps it, given hits resolved by logHits. */
export function renderLog(
  text: string,
  hits: readonly Hit[],
  from: number,
  to: number,
  registry: PlaceholderRegistry,
): string {
  let out = "";
  let pos = from;
  for (const { match, entry } of hits) {
    if (match.start < from || match.end > to) continue;
    const value = text.slice(match.start, match.end);
    out +=
      text.slice(pos, match.start) +
      (entry.log === "redact" ? placeholderOf(registry, entry, match, value) : maskOf(entry, match, value));
    pos = match.end;
  }
  return out + text.slice(pos, to);
}

const maskOf = (entry: Entry, match: Match, value: string) =>
  entry.category === "pii" ? maskValue(match.type, value) : maskGeneric(value);
const placeholderOf = (registry: PlaceholderRegistry, entry: Entry, match: Match, value: string) =>
  registry.placeholder(entry.category === "rule" ? "rule" : match.type, value);
