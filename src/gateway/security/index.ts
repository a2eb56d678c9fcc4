/**
 * Public surface of the in-process security scanning library.
 * Invariant: pure code — no I/O, no database, no HTTP; the caller loads the
 * org policy and project override, builds the scanner and records findings.
 */
export {
  createPolicyScanner,
  policyViolation,
  type PolicyScanner,
  type PolicyOutputScanner,
  type ScanResult,
} from "./scanner.js";
export {
  DEFAULT_POLICY,
  effectivePolicy,
  loosenings,
  orgPolicySchema,
  projectOverrideSchema,
  ruleSchema,
  MAX_RULES,
  type EffectivePolicy,
  type EffectiveRule,
  type OrgPolicy,
  type OrgPolicyInput,
  type ProjectOverride,
} from "./policy.js";
export { scoreInjection, injectionDetector, type InjectionResult } from "./injection.js";
export { checkRulePattern, ruleDetector, type ContentRule } from "./rules.js";
export { PII_DETECTORS } from "./pii/index.js";
export type { Action, Detector, Finding, Match, PiiType, RestoreMap, Severity } from "./types.js";
