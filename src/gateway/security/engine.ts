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
 */
import { maskGeneric, maskValue } from "./mask.js";
import { DETECTOR_PRIORITY, PII_DETECTORS } from "./pii/index.js";
import type { EffectivePolicy } from "./policy.js";
import { ruleDetector } from "./rules.js";
import { actionRank, type Action, type Detector, type Finding, type Match, type Severity } from "./types.js";

export type EngineAction = Exclude<Action, "off"> | "restore";

export interface Entry {
  detector: Detector;
  category: "pii" | "rule" | "placeholder";
  action: EngineAction;
  priority: number;
  ruleName?: string;
  ruleCategory?: string;
}

export interface Hit {
  match: Match;
  entry: Entry;
}

const LABELS: Record<string, string> = { email: "EMAIL", phone: "PHONE", card: "CARD", ssn: "SSN", iban: "IBAN", ip: "IP", secret: "SECRET" };
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

const PII_SEVERITY: Record<string, Severity> = { secret: "critical", card: "high", ssn: "high", iban: "high", email: "medium", phone: "medium", ip: "low" };
const RULE_SEVERITY: Record<string, Severity> = { block: "high", redact: "medium", mask: "medium", log: "low" };

export function buildEntries(policy: EffectivePolicy): Entry[] {
  const entries: Entry[] = [];
  DETECTOR_PRIORITY.forEach((type, i) => {
    const action = policy.pii[type];
    if (action !== "off") entries.push({ detector: PII_DETECTORS[type], category: "pii", action, priority: i });
  });
  for (const r of policy.rules) {
    entries.push({ detector: ruleDetector(r), category: "rule", action: r.action, priority: 100, ruleName: r.name, ...(r.category ? { ruleCategory: r.category } : {}) });
  }
  return entries;
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

const rankOf = (a: EngineAction) => (a === "restore" ? 10 : actionRank(a));

export function findMatches(text: string, entries: readonly Entry[]): Hit[] {
  const hits: Hit[] = [];
  for (const entry of entries) for (const match of entry.detector.scan(text)) hits.push({ match, entry });
  if (hits.length < 2) return hits;
  hits.sort(
    (a, b) =>
      rankOf(b.entry.action) - rankOf(a.entry.action) ||
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

export interface RenderContext {
  registry: PlaceholderRegistry;
  findings: Finding[];
  location: "input" | "output";
  messageIndex?: number;
}

/** Rewrites text[from, to) applying the hits inside it; returns the new text and the first block. */
export function render(text: string, hits: readonly Hit[], from: number, to: number, ctx: RenderContext): { text: string; blocked: Finding | null } {
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
    const excerpt = entry.category === "pii" ? maskValue(match.type, value) : maskGeneric(value);
    const finding: Finding = {
      category: entry.category === "pii" ? "pii" : "rule",
      type: match.type,
      action: entry.action,
      severity: entry.category === "pii" ? (entry.action === "block" && match.type !== "secret" ? "high" : PII_SEVERITY[match.type] ?? "medium") : RULE_SEVERITY[entry.action]!,
      excerpt,
      location: ctx.location,
      ...(match.subtype ? { subtype: match.subtype } : {}),
      ...(entry.ruleName ? { ruleName: entry.ruleName } : {}),
      ...(entry.ruleCategory ? { ruleCategory: entry.ruleCategory } : {}),
      ...(ctx.messageIndex !== undefined ? { messageIndex: ctx.messageIndex } : {}),
    };
    ctx.findings.push(finding);
    if (entry.action === "block" && !blocked) blocked = finding;
    if (entry.action === "redact") out += ctx.registry.placeholder(entry.category === "pii" ? match.type : "rule", value);
    else if (entry.action === "mask") out += entry.category === "pii" ? maskValue(match.type, value) : maskGeneric(value);
    else out += value;
  }
  out += text.slice(pos, to);
  return { text: out, blocked };
}
