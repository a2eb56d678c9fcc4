/**
 * Security policy schemas (DESIGN §5) and the effective-policy merge.
 * Invariants:
 * - Schemas are strict: unknown keys are refused, names/patterns are length
 *   limited, at most MAX_RULES rules per policy, rule names unique per policy,
 *   and every regex is compiled by RE2 at validation time (rules.ts).
 * - effectivePolicy(org, override) is never looser than org in any setting:
 *   PII and injection actions take the stricter (off < log < mask < redact < block);
 *   the injection threshold takes the lower; rules are the union (an identical
 *   project rule only raises the action); restoreRedactions needs both to allow it.
 * - Pure: no I/O, inputs are not mutated.
 */
import { z } from "zod";
import { checkRulePattern, MAX_PATTERN_LENGTH, type ContentRule } from "./rules.js";
import { ACTION_ORDER, actionRank, PII_TYPES, type Action, type PiiType } from "./types.js";

export const MAX_RULES = 100;
export const DEFAULT_INJECTION_THRESHOLD = 0.5;

const actionSchema = z.enum(["off", "log", "mask", "redact", "block"]);
const injectionActionSchema = z.enum(["off", "log", "block"]);
const thresholdSchema = z.number().min(0.05).max(1);

export const ruleSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(64),
    type: z.enum(["keyword", "regex"]),
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
    action: z.enum(["log", "mask", "redact", "block"]),
    category: z.string().trim().min(1).max(64).optional(),
    caseSensitive: z.boolean().optional(),
    wholeWord: z.boolean().optional(),
  })
  .superRefine((rule, ctx) => {
    const problem = checkRulePattern(rule.type, rule.pattern, rule.caseSensitive);
    if (problem) ctx.addIssue({ code: "custom", path: ["pattern"], message: problem });
    if (rule.type === "regex" && rule.wholeWord !== undefined)
      ctx.addIssue({ code: "custom", path: ["wholeWord"], message: "wholeWord applies to keyword rules only" });
  });

const rulesSchema = z
  .array(ruleSchema)
  .max(MAX_RULES)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      const key = r.name.toLowerCase();
      if (seen.has(key))
        ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate rule name "${r.name}"` });
      seen.add(key);
    });
  });

const piiShape = Object.fromEntries(PII_TYPES.map((t) => [t, actionSchema])) as Record<PiiType, typeof actionSchema>;

/** The org's shared policy. Omitted PII types default to "off" and so on (see DEFAULT_POLICY for a starting point). */
export const orgPolicySchema = z.strictObject({
  pii: z
    .strictObject(
      Object.fromEntries(PII_TYPES.map((t) => [t, actionSchema.default("off")])) as Record<
        PiiType,
        z.ZodDefault<typeof actionSchema>
      >,
    )
    .default({
      email: "off",
      phone: "off",
      card: "off",
      ssn: "off",
      iban: "off",
      ip: "off",
      secret: "off",
    }),
  promptInjection: z
    .strictObject({ action: injectionActionSchema, threshold: thresholdSchema.optional() })
    .default({ action: "off" }),
  rules: rulesSchema.default([]),
  restoreRedactions: z.boolean().default(false),
});

/** A project's override: only what it tightens; every field optional. */
export const projectOverrideSchema = z.strictObject({
  pii: z.strictObject(piiShape).partial().optional(),
  promptInjection: z
    .strictObject({ action: injectionActionSchema.optional(), threshold: thresholdSchema.optional() })
    .optional(),
  rules: rulesSchema.optional(),
  restoreRedactions: z.boolean().optional(),
});

export type OrgPolicy = z.output<typeof orgPolicySchema>;
export type OrgPolicyInput = z.input<typeof orgPolicySchema>;
export type ProjectOverride = z.output<typeof projectOverrideSchema>;

export interface EffectiveRule extends ContentRule {
  source: "org" | "project";
}

export interface EffectivePolicy {
  pii: Record<PiiType, Action>;
  promptInjection: { action: "off" | "log" | "block"; threshold: number };
  rules: EffectiveRule[];
  restoreRedactions: boolean;
}

/**
 * The recommended starting policy (an org that has not set one has everything
 * off; admins PUT this one to start): secrets and card numbers are redacted before they reach
 * a provider, other PII and prompt injection are logged (no behaviour change,
 * but incidents show up), no custom rules, no restoring.
 */
export const DEFAULT_POLICY: OrgPolicy = {
  pii: { email: "log", phone: "log", card: "redact", ssn: "redact", iban: "log", ip: "off", secret: "redact" },
  promptInjection: { action: "log", threshold: DEFAULT_INJECTION_THRESHOLD },
  rules: [],
  restoreRedactions: false,
};

const stricter = <A extends string>(order: readonly A[], a: A, b: A | undefined): A =>
  b === undefined || order.indexOf(a) >= order.indexOf(b) ? a : b;

const sameRule = (a: ContentRule, b: ContentRule) =>
  a.type === b.type &&
  a.pattern === b.pattern &&
  Boolean(a.caseSensitive) === Boolean(b.caseSensitive) &&
  (a.wholeWord ?? true) === (b.wholeWord ?? true);

export function effectivePolicy(org: OrgPolicy, override?: ProjectOverride | null): EffectivePolicy {
  const o = override ?? {};
  const pii = {} as Record<PiiType, Action>;
  for (const t of PII_TYPES) pii[t] = stricter(ACTION_ORDER, org.pii[t], o.pii?.[t]);
  const thresholds = [org.promptInjection.threshold ?? DEFAULT_INJECTION_THRESHOLD];
  if (o.promptInjection?.threshold !== undefined) thresholds.push(o.promptInjection.threshold);
  const rules: EffectiveRule[] = org.rules.map((r) => ({ ...r, source: "org" as const }));
  for (const r of o.rules ?? []) {
    const twin = rules.find((x) => x.source === "org" && sameRule(x, r));
    if (twin) twin.action = stricter(["log", "mask", "redact", "block"] as const, twin.action, r.action);
    else rules.push({ ...r, source: "project" });
  }
  return {
    pii,
    promptInjection: {
      action: stricter(["off", "log", "block"] as const, org.promptInjection.action, o.promptInjection?.action),
      threshold: Math.min(...thresholds),
    },
    rules,
    restoreRedactions: org.restoreRedactions && o.restoreRedactions !== false,
  };
}

/**
 * Fields where an override is looser than the org policy (so it has no
 * effect): the policies API can refuse or warn with these paths.
 */
export function loosenings(org: OrgPolicy, override: ProjectOverride): string[] {
  const out: string[] = [];
  for (const t of PII_TYPES) {
    const v = override.pii?.[t];
    if (v !== undefined && actionRank(v) < actionRank(org.pii[t])) out.push(`pii.${t}`);
  }
  const ia = override.promptInjection?.action;
  const order = ["off", "log", "block"];
  if (ia !== undefined && order.indexOf(ia) < order.indexOf(org.promptInjection.action))
    out.push("promptInjection.action");
  const th = override.promptInjection?.threshold;
  if (th !== undefined && th > (org.promptInjection.threshold ?? DEFAULT_INJECTION_THRESHOLD))
    out.push("promptInjection.threshold");
  if (override.restoreRedactions === true && !org.restoreRedactions) out.push("restoreRedactions");
  return out;
}
